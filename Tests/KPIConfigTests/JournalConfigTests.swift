import KPIConfig
import KPICore
import XCTest

/// `[journal]` and the per-source `journal` switch.
final class JournalConfigTests: XCTestCase {
    private func config(_ journal: String, source: String = "journal = true") -> String {
        """
        \(journal)

        [[sources]]
        name = "api"
        kind = "pull"
        bind = ["tcp://127.0.0.1:5556"]
        \(source)

        [[metrics]]
        name = "orders"
        events = ["order"]
        aggregate = "count"
        windows = ["hour"]
        """
    }

    func testJournalIsOffPerSourceUnlessSetAndTheDefaultsApply() throws {
        let c = try ConfigLoader.parse(config("", source: ""))
        XCTAssertEqual(c.sources.map(\.journal), [false])
        XCTAssertEqual(c.journal, JournalConfig())
        XCTAssertEqual(c.journal.commitIntervalMillis, 100)
        XCTAssertEqual(c.journal.retentionMillis, 30 * 86_400_000)
        XCTAssertEqual(c.journal.maxBacklogBytes, 64 << 20)
        XCTAssertEqual(c.journal.compression, .lz4)
    }

    func testJournalTableAndSourceSwitchAreRead() throws {
        let c = try ConfigLoader.parse(config("""
            [journal]
            commit_interval = "250ms"
            retention = "7d"
            max_backlog_bytes = 1048576
            compression = "none"
            """))
        XCTAssertEqual(c.sources.map(\.journal), [true])
        XCTAssertEqual(c.journal.commitIntervalMillis, 250)
        XCTAssertEqual(c.journal.retentionMillis, 7 * 86_400_000)
        XCTAssertEqual(c.journal.maxBacklogBytes, 1 << 20)
        XCTAssertEqual(c.journal.compression, JournalCompression.none)
        XCTAssertTrue(ConfigSummary.describe(c).contains("journal: commit every 250ms"))
        XCTAssertTrue(ConfigSummary.describe(c).contains("compression none"))
    }

    func testUnknownJournalKeyIsRejectedWithKeyAndLine() {
        let result = ConfigLoader.diagnose(config("""
            [journal]
            commit_intervall = "1s"
            """))
        XCTAssertEqual(result.errors.first?.key, "journal.commit_intervall")
        XCTAssertEqual(result.errors.first?.line, 2)
        XCTAssertEqual(result.errors.first?.hint, #"did you mean "commit_interval"?"#)
    }

    func testBadJournalValuesAreRejected() {
        let zero = ConfigLoader.diagnose(config("[journal]\ncommit_interval = \"0s\""))
        XCTAssertEqual(zero.errors.first?.key, "journal.commit_interval")
        let bytes = ConfigLoader.diagnose(config("[journal]\nmax_backlog_bytes = 0"))
        XCTAssertEqual(bytes.errors.first?.key, "journal.max_backlog_bytes")
        let source = ConfigLoader.diagnose(config("", source: "journal = \"yes\""))
        XCTAssertEqual(source.errors.first?.key, "sources[0].journal")
        XCTAssertEqual(source.errors.first?.line, 7)
        let codec = ConfigLoader.diagnose(config("[journal]\ncommit_interval = \"1s\"\ncompression = \"zstd\""))
        XCTAssertEqual(codec.errors.first?.key, "journal.compression")
        XCTAssertEqual(codec.errors.first?.line, 3)
        XCTAssertEqual(codec.errors.first?.hint, #"one of "none", "lz4""#)
    }
}
