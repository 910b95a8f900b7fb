import KPICore
import KPIPipeline
import XCTest

/// Per-publisher permissions in the real ingest path: an event outside its publisher's
/// permissions is rejected with a sample naming the publisher and touches no metric.
final class PublisherPermissionPipelineTests: XCTestCase {
    private let t0: EpochMillis = 1_795_420_800_000

    private func pipeline(unlisted: UnlistedPublisherPolicy? = nil) throws -> IngestPipeline {
        var config = KpidConfig()
        var source = SourceConfig(name: "secure", kind: .pull)
        source.bind = ["tcp://127.0.0.1:1"]
        source.curve = CurveSourceConfig(secretKey: String(repeating: "0", count: 40), secretKeyFile: "s", clientsDirectory: "c",
                                         clients: [CurveClientKey(publisher: "scraper", publicKey: String(repeating: "1", count: 40), file: "a"),
                                                   CurveClientKey(publisher: "web", publicKey: String(repeating: "2", count: 40), file: "b")])
        config.sources = [source]
        config.publishers = [PublisherConfig(name: "scraper", types: ["scrape.*"], tenants: ["t1"], tenantField: "org")]
        config.unlistedPublishers = unlisted
        config.metrics = [
            MetricDefinition(name: "all_pages", events: ["scrape.page", "click"], aggregate: .count, windows: [.day]),
        ]
        return try IngestPipeline(config: config, clock: ManualClock(t0))
    }

    private func send(_ p: IngestPipeline, _ lines: [String], publisher: String?) {
        let payload = Array(lines.joined(separator: "\n").utf8)
        let index = publisher.flatMap { p.permissions.index(of: $0) } ?? -1
        payload.withUnsafeBytes { p.process(frameCount: 1, first: $0, second: UnsafeRawBufferPointer(start: nil, count: 0),
                                            source: 0, publisher: index) }
    }

    private func rejects(_ f: IngestPipeline.Flush) -> [String: Int64] {
        var out: [String: Int64] = [:]
        for d in f.counters where d.name == "rejects" { out[d.labels, default: 0] += d.delta }
        return out
    }

    func testForbiddenTypeAndTenantAreRejectedBeforeAnyMetricAndNameThePublisher() throws {
        let p = try pipeline()
        send(p, [
            #"{"type":"click","ts":\#(t0),"org":"t1"}"#,
            #"{"type":"scrape.page","ts":\#(t0),"org":"t2"}"#,
            #"{"type":"scrape.page","ts":\#(t0),"tenant":"t1"}"#,
            #"{"type":"scrape.page","ts":\#(t0),"org":"t1"}"#,
        ], publisher: "scraper")
        let f = p.flush()
        XCTAssertEqual(f.batch.rows.map(\.value), [1], "only the allowed event is counted")
        XCTAssertEqual(p.counters.rejectCount(.forbiddenType), 1)
        XCTAssertEqual(p.counters.rejectCount(.forbiddenTenant), 2, "the tenant is read from tenant_field")
        XCTAssertEqual(f.rejects.map(\.detail), [
            "publisher scraper may not send type click",
            "publisher scraper may not send org t2",
            "publisher scraper may not send org (none)",
        ])
        XCTAssertEqual(f.rejects.map(\.source), ["secure", "secure", "secure"])
    }

    func testUnlistedPublisherIsDeniedByDefaultOncePublishersAreListed() throws {
        let p = try pipeline()
        send(p, [#"{"type":"click","ts":\#(t0)}"#], publisher: "web")
        let f = p.flush()
        XCTAssertTrue(f.batch.rows.isEmpty)
        XCTAssertEqual(p.counters.rejectCount(.forbiddenPublisher), 1)
        XCTAssertEqual(f.rejects.first?.detail?.contains("web"), true)

        let allow = try pipeline(unlisted: .allow)
        send(allow, [#"{"type":"click","ts":\#(t0)}"#], publisher: "web")
        XCTAssertEqual(allow.flush().batch.rows.map(\.value), [1])
    }

    func testMessagesWithoutAnIdentityAreNotChecked() throws {
        let p = try pipeline()
        send(p, [#"{"type":"click","ts":\#(t0)}"#], publisher: nil)
        XCTAssertEqual(p.flush().batch.rows.map(\.value), [1])
    }
}
