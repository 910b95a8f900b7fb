import Foundation
import KPIConfig
import KPICore
import KPIPipeline
import XCTest

/// The qualification pipelines inside the real ingest path: NDJSON bytes in, aggregate rows out,
/// with the shipped bot patterns (conf/bots) and a clock the test owns.
final class QualificationPipelineTests: XCTestCase {
    /// Monday 2026-11-23 10:00:00 Asia/Beirut (08:00Z).
    private let t0: EpochMillis = 1_795_420_800_000
    private let minute: EpochMillis = 60_000
    private let browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

    private var botsDirectory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("conf/bots").path
    }

    private func config(filters: String = #"["bot", "self_referrer", "duplicate"]"#, log: Bool = false) throws -> KpidConfig {
        try ConfigLoader.parse("""
            [kpid]
            allowed_lateness = "10m"
            [[sources]]
            name = "web"
            kind = "pull"
            bind = ["tcp://127.0.0.1:1"]
            [[pipelines]]
            name = "qc"
            events = ["click"]
            filters = \(filters)
            bot_patterns = "\(botsDirectory)"
            \(log ? #"log_fields = ["visitor", "retailer"]"# : "")
            [[metrics]]
            name = "wqoc"
            pipeline = "qc"
            aggregate = "distinct(visitor)"
            windows = ["week"]
            time_zone = "Asia/Beirut"
            [[metrics]]
            name = "qualified"
            pipeline = "qc"
            aggregate = "count"
            group_by = ["retailer"]
            windows = ["day"]
            time_zone = "Asia/Beirut"
            [[metrics]]
            name = "raw"
            events = ["click"]
            aggregate = "count"
            windows = ["day"]
            """)
    }

    private func click(_ ts: EpochMillis, visitor: String, listing: String? = "l1", retailer: String = "r1",
                       ua: String? = nil, url: String = "https://shop.example/l1",
                       referrer: String = "https://search.example/") -> String {
        var o: [String: Any] = ["type": "click", "ts": ts, "visitor": visitor, "retailer": retailer,
                                "user_agent": ua ?? browser, "url": url, "referrer": referrer]
        if let listing { o["listing"] = listing }
        let data = try! JSONSerialization.data(withJSONObject: o, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    private func run(_ config: KpidConfig, _ lines: [String]) throws -> (IngestPipeline, IngestPipeline.Flush) {
        let pipeline = try IngestPipeline(config: config, clock: ManualClock(t0 + 60 * minute))
        let payload = Array(lines.joined(separator: "\n").utf8)
        payload.withUnsafeBytes { pipeline.process(topic: nil, payload: $0, source: 0) }
        return (pipeline, pipeline.flush())
    }

    private func value(_ f: IngestPipeline.Flush, _ metric: String, labels: String = "{}") -> Double? {
        f.batch.rows.first { $0.metric == metric && $0.labels == labels }?.value
    }

    func testEachFilterDropsWhatItShouldAndHealthCountsByFilter() throws {
        let lines = [
            click(t0, visitor: "v1"),                                                     // counted
            click(t0 + 5 * minute - 1, visitor: "v1"),                                    // duplicate (4:59.999)
            click(t0 + 5 * minute, visitor: "v1"),                                        // counted (5:00.000)
            click(t0, visitor: "v2", ua: "Googlebot/2.1 (+http://www.google.com/bot.html)"), // bot
            click(t0, visitor: "v3", ua: ""),                                              // empty UA: bot
            click(t0, visitor: "v4", url: "https://Shop.Example:443/l1/#top",
                  referrer: "HTTPS://shop.example/l1"),                                     // self-referrer
            click(t0, visitor: "v5", listing: nil),                                        // missing dedupe key
            click(t0 + minute, visitor: "v6", retailer: "r2"),                             // counted
        ]
        let (pipeline, f) = try run(try config(), lines)
        XCTAssertEqual(value(f, "raw"), 8, "raw metrics count every click")
        XCTAssertEqual(value(f, "wqoc"), 2, "v1 and v6")
        XCTAssertEqual(value(f, "qualified", labels: #"{"retailer":"r1"}"#), 2)
        XCTAssertEqual(value(f, "qualified", labels: #"{"retailer":"r2"}"#), 1)
        XCTAssertEqual(value(f, "kpid_qualify_input", labels: #"{"pipeline":"qc"}"#), 8)
        XCTAssertEqual(value(f, "kpid_qualify_dropped", labels: #"{"filter":"bot","pipeline":"qc"}"#), 2)
        XCTAssertEqual(value(f, "kpid_qualify_dropped", labels: #"{"filter":"self_referrer","pipeline":"qc"}"#), 1)
        XCTAssertEqual(value(f, "kpid_qualify_dropped", labels: #"{"filter":"duplicate","pipeline":"qc"}"#), 1)
        XCTAssertEqual(Set(f.batch.rows.filter { $0.metric.hasPrefix("kpid_") }.map(\.period)), ["hour", "day"])
        XCTAssertEqual(pipeline.counters.rejectCount(.missingDedupeKey), 1)
        XCTAssertEqual(f.rejects.map(\.reason), [.missingDedupeKey])
    }

    func testWeeklyQualifiedVisitorsUseBeirutISOWeeks() throws {
        // Sunday 23:30 Beirut (21:30Z) and Monday 00:30 Beirut are in different ISO weeks.
        let sunday = t0 - 10 * 60 * minute - 30 * minute
        let (_, f) = try run(try config(), [click(sunday, visitor: "a"), click(sunday + 60 * minute, visitor: "b", listing: "l2")])
        let weeks = f.batch.rows.filter { $0.metric == "wqoc" }.sorted { $0.windowStart < $1.windowStart }
        XCTAssertEqual(weeks.map(\.value), [1, 1])
        XCTAssertEqual(weeks.last?.windowStart, sunday + 30 * minute, "the week starts on Monday 00:00 in Beirut")
    }

    func testDuplicatesDoNotExtendTheWindow() throws {
        let lines = (0..<5).map { click(t0 + EpochMillis($0) * 4 * minute, visitor: "v") } // 0, 4, 8, 12, 16 min
        let (pipeline, f) = try run(try config(), lines)
        XCTAssertEqual(value(f, "qualified", labels: #"{"retailer":"r1"}"#), 3, "counted at 0, 8 and 16 minutes")
        XCTAssertEqual(pipeline.stages[0].dropped[QualificationFilter.duplicate.ordinal], 2)
    }

    func testPipelineWithoutTheBotFilterCountsBots() throws {
        let lines = [click(t0, visitor: "v1", ua: "curl/8.5.0"), click(t0, visitor: "v2", ua: "")]
        let (_, f) = try run(try config(filters: #"["self_referrer", "duplicate"]"#), lines)
        XCTAssertEqual(value(f, "wqoc"), 2)
        XCTAssertNil(value(f, "kpid_qualify_dropped", labels: #"{"filter":"bot","pipeline":"qc"}"#))
    }

    func testQualifiedEventsAreLoggedWithTheirFields() throws {
        let lines = [click(t0, visitor: "v1"), click(t0 + minute, visitor: "v1"), click(t0, visitor: "v2", retailer: "r9")]
        let (_, f) = try run(try config(log: true), lines)
        XCTAssertEqual(f.qualified.map(\.fields), [#"{"retailer":"r1","visitor":"v1"}"#, #"{"retailer":"r9","visitor":"v2"}"#])
        XCTAssertEqual(f.qualified.map(\.timestamp), [t0, t0])
        XCTAssertEqual(f.qualifiedLogCutoffs["qc"], t0 + 60 * minute - 30 * 24 * 60 * minute)
    }

    /// The raw click metric and the metrics over two pipelines group by the same field, so they
    /// share one label table and the pipelines' folds reuse the raw fold's lookup
    /// (`ingest(sameEvent:)`): every click must still land under its own retailer.
    func testMetricsOverPipelinesCountEachClickUnderItsOwnLabels() throws {
        var config = try config()
        var second = config.pipelines[0]
        second.name = "qc2"
        second.filters = [.duplicate]
        config.pipelines.append(second)
        config.metrics = [
            MetricDefinition(name: "raw_by_retailer", events: ["click"], aggregate: .count, groupBy: ["retailer"], windows: [.day]),
            MetricDefinition(name: "qualified", events: ["click"], aggregate: .count, groupBy: ["retailer"], windows: [.day],
                             pipeline: "qc"),
            MetricDefinition(name: "qualified2", events: ["click"], aggregate: .count, groupBy: ["retailer"], windows: [.hour],
                             pipeline: "qc2"),
        ]
        var rng = SplitMix64(seed: 11)
        var raw: [String: Double] = [:], qualified: [String: Double] = [:]
        var lines: [String] = []
        for i in 0..<400 {
            let r = "r\(rng.next() % 5)"
            let bot = rng.next() % 4 == 0
            lines.append(click(t0 + EpochMillis(i) * 1000, visitor: "v\(i)", retailer: r, ua: bot ? "curl/8.5.0" : nil))
            raw[r, default: 0] += 1
            if !bot { qualified[r, default: 0] += 1 }
        }
        let (_, f) = try run(config, lines)
        for r in raw.keys {
            let labels = #"{"retailer":"\#(r)"}"#
            XCTAssertEqual(value(f, "raw_by_retailer", labels: labels), raw[r], r)
            XCTAssertEqual(value(f, "qualified", labels: labels), qualified[r], r)
            XCTAssertEqual(value(f, "qualified2", labels: labels), raw[r], r)
        }
        XCTAssertEqual(value(f, "kpid_qualify_input", labels: #"{"pipeline":"qc2"}"#), 400)
        XCTAssertEqual(value(f, "kpid_qualify_dropped", labels: #"{"filter":"bot","pipeline":"qc"}"#),
                       raw.values.reduce(0, +) - qualified.values.reduce(0, +))
    }
}
