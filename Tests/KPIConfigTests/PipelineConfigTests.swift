import KPIConfig
import KPICore
import XCTest

private let source = """
[[sources]]
name = "web"
kind = "sub"
bind = ["tcp://127.0.0.1:5555"]

"""

/// A pipeline without the bot filter, so that no pattern directory is needed.
private let pipeline = """
[[pipelines]]
name = "qc"
events = ["click"]
filters = ["self_referrer", "duplicate"]

"""

private let wqoc = """
[[metrics]]
name = "wqoc"
pipeline = "qc"
aggregate = "distinct(visitor)"
windows = ["week"]

"""

final class PipelineConfigTests: XCTestCase {
    private func error(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do {
            _ = try ConfigLoader.parse(text, file: "kpid.toml")
            XCTFail("compiled", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testPipelineDefaultsAndMetricOverPipeline() throws {
        let c = try ConfigLoader.parse(source + pipeline + wqoc)
        XCTAssertEqual(c.pipelines.count, 1)
        let p = c.pipelines[0]
        XCTAssertEqual(p.name, "qc")
        XCTAssertEqual(p.events, ["click"])
        XCTAssertEqual(p.filters, [.selfReferrer, .duplicate])
        XCTAssertEqual(p.dedupeKey, ["visitor", "listing"])
        XCTAssertEqual(p.dedupeWindowMillis, 300_000)
        XCTAssertEqual(p.referrerField, "referrer")
        XCTAssertEqual(p.urlField, "url")
        XCTAssertEqual(p.logFields, [])
        XCTAssertEqual(c.metrics[0].pipeline, "qc")
        XCTAssertEqual(c.metrics[0].events, ["click"], "a metric over a pipeline reads the pipeline's event types")
    }

    func testPipelineKeysAreRead() throws {
        let text = source + """
            [[pipelines]]
            name = "qc"
            events = ["click", "outbound"]
            filters = ["duplicate"]
            visitor = "vid"
            dedupe_key = ["vid", "offer"]
            dedupe_window = "90s"
            max_dedupe_keys = 1000
            referrer = "ref"
            url = "href"
            log_fields = ["vid", "offer", "vid"]
            log_retention = "7d"

            """ + wqoc
        let p = try ConfigLoader.parse(text).pipelines[0]
        XCTAssertEqual(p.events, ["click", "outbound"])
        XCTAssertEqual(p.filters, [.duplicate])
        XCTAssertEqual(p.visitorField, "vid")
        XCTAssertEqual(p.dedupeKey, ["vid", "offer"])
        XCTAssertEqual(p.dedupeWindowMillis, 90_000)
        XCTAssertEqual(p.maxDedupeKeys, 1000)
        XCTAssertEqual(p.referrerField, "ref")
        XCTAssertEqual(p.urlField, "href")
        XCTAssertEqual(p.logFields, ["vid", "offer"])
        XCTAssertEqual(p.logRetentionMillis, 7 * 86_400_000)
    }

    func testVisitorFieldChangesTheDefaultDedupeKey() throws {
        let text = source + pipeline.replacingOccurrences(of: "filters", with: "visitor = \"uid\"\nfilters") + wqoc
        XCTAssertEqual(try ConfigLoader.parse(text).pipelines[0].dedupeKey, ["uid", "listing"])
    }

    func testFiltersOutOfOrderAreRefusedWithTheReason() throws {
        let text = source + pipeline.replacingOccurrences(of: #"["self_referrer", "duplicate"]"#, with: #"["duplicate", "self_referrer"]"#) + wqoc
        let e = try XCTUnwrap(error(text))
        XCTAssertEqual(e.key, "pipelines[0].filters[1]")
        XCTAssertEqual(e.line, 8)
        XCTAssertTrue(e.hint?.contains("bot, self_referrer, duplicate") == true, "\(e)")
    }

    func testUnknownFilterSuggestsTheClosest() throws {
        let text = source + pipeline.replacingOccurrences(of: #""self_referrer""#, with: #""self_referer""#) + wqoc
        let e = try XCTUnwrap(error(text))
        XCTAssertEqual(e.key, "pipelines[0].filters[0]")
        XCTAssertTrue(e.hint?.contains("self_referrer") == true, "\(e)")
    }

    func testMetricWithBothEventsAndPipelineIsRefused() throws {
        let text = source + pipeline + wqoc.replacingOccurrences(of: "pipeline = \"qc\"", with: "pipeline = \"qc\"\nevents = [\"click\"]")
        let e = try XCTUnwrap(error(text))
        XCTAssertEqual(e.key, "metrics[0].events")
        XCTAssertTrue(e.message.contains("either raw events or a pipeline"), "\(e)")
    }

    func testUnknownPipelineNamesTheKnownOnes() throws {
        let text = source + pipeline + wqoc.replacingOccurrences(of: "pipeline = \"qc\"", with: "pipeline = \"qd\"")
        let e = try XCTUnwrap(error(text))
        XCTAssertEqual(e.key, "metrics[0].pipeline")
        XCTAssertEqual(e.line, 11)
        XCTAssertTrue(e.hint?.contains("\"qc\"") == true, "\(e)")
    }

    func testMetricOverABrokenPipelineReportsOnlyThePipeline() throws {
        let text = source + pipeline.replacingOccurrences(of: "events = [\"click\"]", with: "events = []") + wqoc
        let all = ConfigLoader.diagnose(text).errors
        XCTAssertEqual(all.map(\.key), ["pipelines[0].events"], "\(all)")
    }

    func testReservedMetricPrefixIsRefused() throws {
        let text = source + pipeline + wqoc.replacingOccurrences(of: "name = \"wqoc\"", with: "name = \"kpid_qualify_dropped\"")
        let e = try XCTUnwrap(error(text))
        XCTAssertEqual(e.key, "metrics[0].name")
        XCTAssertTrue(e.message.contains("reserved"), "\(e)")
    }

    func testLogRetentionWithoutFieldsIsRefused() throws {
        let text = source + pipeline.replacingOccurrences(of: "filters", with: "log_retention = \"3d\"\nfilters") + wqoc
        let e = try XCTUnwrap(error(text))
        XCTAssertEqual(e.key, "pipelines[0].log_retention")
    }

    func testUnknownPipelineKeyIsNamedWithItsSection() throws {
        let text = source + pipeline.replacingOccurrences(of: "filters", with: "dedup_window = \"5m\"\nfilters") + wqoc
        let e = try XCTUnwrap(error(text))
        XCTAssertEqual(e.key, "pipelines[0].dedup_window")
        XCTAssertTrue(e.hint?.contains("dedupe_window") == true, "\(e)")
    }

    func testEmptyDedupeKeyIsRefused() throws {
        let text = source + pipeline.replacingOccurrences(of: "filters", with: "dedupe_key = []\nfilters") + wqoc
        XCTAssertEqual(try XCTUnwrap(error(text)).key, "pipelines[0].dedupe_key")
    }
}

final class StatusConfigTests: XCTestCase {
    private let base = """
        [[sources]]
        name = "web"
        kind = "sub"
        bind = ["tcp://127.0.0.1:5555"]
        [[metrics]]
        name = "m"
        events = ["e"]
        aggregate = "count"
        windows = ["hour"]

        """

    func testStatusListenerDefaultsToLoopback() throws {
        let c = try ConfigLoader.parse(base)
        XCTAssertEqual(c.status, StatusConfig())
        XCTAssertEqual(c.status.host, "127.0.0.1")
        XCTAssertEqual(c.status.port, 9465)
    }

    func testListenAcceptsHostPortAndBracketedIPv6() throws {
        XCTAssertEqual(try ConfigLoader.parse(base + "[status]\nlisten = \"0.0.0.0:0\"\n").status.port, 0)
        let v6 = try ConfigLoader.parse(base + "[status]\nlisten = \"[::1]:9100\"\nenabled = false\n").status
        XCTAssertEqual(v6.host, "::1")
        XCTAssertEqual(v6.port, 9100)
        XCTAssertFalse(v6.enabled)
    }

    func testInvalidListenNamesTheKeyAndLine() {
        XCTAssertThrowsError(try ConfigLoader.parse(base + "[status]\nlisten = \"localhost\"\n", file: "k.toml")) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.key, "status.listen")
            XCTAssertEqual(e.line, 11)
            XCTAssertTrue(e.hint?.contains("host:port") == true, "\(e)")
        }
        XCTAssertThrowsError(try ConfigLoader.parse(base + "[status]\nlisten = \"127.0.0.1:70000\"\n"))
        XCTAssertThrowsError(try ConfigLoader.parse(base + "[status]\nenabled = \"yes\"\n"))
    }
}
