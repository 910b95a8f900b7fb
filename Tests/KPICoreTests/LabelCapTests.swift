import XCTest
@testable import KPICore

/// `max_label_sets`: a metric admits its first N label sets; events of any other label set are
/// counted under `{"__overflow__":"true"}`.
final class LabelCapTests: XCTestCase {
    private let overflow = #"{"__overflow__":"true"}"#
    private let start = "2026-05-10T12:00:00Z", end = "2026-05-10T12:01:00Z"

    private func routes(_ cap: Int?, name: String = "requests", filter: FilterExpr? = nil) -> MetricDefinition {
        MetricDefinition(name: name, events: ["http"], filter: filter, aggregate: .count, groupBy: ["route"],
                         windows: [.minute], maxLabelSets: cap)
    }

    func testLabelSetsBeyondTheCapAreCountedUnderOverflow() {
        let e = makeEngine([routes(2)])
        for r in ["/a", "/b", "/c", "/a", "/d", "/c"] {
            ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": .string(r)])
        }
        XCTAssertEqual(sortedRows(e.flush()), [
            row("requests", .minute, start, end, labels: overflow, value: 3, samples: 3),
            row("requests", .minute, start, end, labels: #"{"route":"/a"}"#, value: 2, samples: 2),
            row("requests", .minute, start, end, labels: #"{"route":"/b"}"#, value: 1, samples: 1),
        ])
        XCTAssertEqual(e.labelOverflows, [3])
    }

    func testTheGlobalCapIsTheDefault() {
        var config = KpidConfig()
        config.maxLabelSets = 1
        config.metrics = [routes(nil)]
        let e = WindowEngine(config: config)
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/a"])
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/b"])
        XCTAssertEqual(e.labelOverflows, [1])
    }

    func testTheCapIsPerMetricWhenMetricsShareTheirLabelTable() {
        // Both group by route, so they share one label table; each keeps its own cap and set.
        let slow = FilterExpr.compare(field: "ms", op: .greaterOrEqual, value: .number(100))
        let e = makeEngine([routes(1, name: "slow", filter: slow), routes(3)])
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/a", "ms": 10])
        ingest(e, "http", at: ms("2026-05-10T12:00:11Z"), ["route": "/b", "ms": 500])
        ingest(e, "http", at: ms("2026-05-10T12:00:12Z"), ["route": "/a", "ms": 500])
        ingest(e, "http", at: ms("2026-05-10T12:00:13Z"), ["route": "/c", "ms": 10])
        XCTAssertEqual(sortedRows(e.flush()), [
            row("requests", .minute, start, end, labels: #"{"route":"/a"}"#, value: 2, samples: 2),
            row("requests", .minute, start, end, labels: #"{"route":"/b"}"#, value: 1, samples: 1),
            row("requests", .minute, start, end, labels: #"{"route":"/c"}"#, value: 1, samples: 1),
            row("slow", .minute, start, end, labels: overflow, value: 1, samples: 1),
            row("slow", .minute, start, end, labels: #"{"route":"/b"}"#, value: 1, samples: 1),
        ])
        XCTAssertEqual(e.labelOverflows, [1, 0])
    }

    func testOneNoticePerWindowWithOverflow() {
        let e = makeEngine([MetricDefinition(name: "requests", events: ["http"], aggregate: .count, groupBy: ["route"],
                                             windows: [.minute, .hour], maxLabelSets: 1)])
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/a"])
        XCTAssertEqual(e.flush().labelOverflows, [])
        for r in ["/b", "/c", "/b"] { ingest(e, "http", at: ms("2026-05-10T12:00:20Z"), ["route": .string(r)]) }
        ingest(e, "http", at: ms("2026-05-10T12:01:20Z"), ["route": "/d"])
        let notices = e.flush().labelOverflows
        XCTAssertEqual(notices.map(\.windowStart), [ms("2026-05-10T12:00:00Z"), ms("2026-05-10T12:01:00Z")])
        XCTAssertEqual(notices.map(\.period), ["minute", "minute"])
        XCTAssertEqual(notices.first?.maxLabelSets, 1)
        ingest(e, "http", at: ms("2026-05-10T12:01:30Z"), ["route": "/e"])
        XCTAssertEqual(e.flush().labelOverflows, [], "that window was already reported")
        XCTAssertEqual(e.labelOverflows, [5])
    }

    func testOverflowingEventsStillFeedRollingWindows() {
        let e = makeEngine([MetricDefinition(name: "r", events: ["http"], aggregate: .count, groupBy: ["route"], windows: [],
                                             rolling: RollingWindow(spanMillis: hour, stepMillis: minute), maxLabelSets: 1)])
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/a"])
        ingest(e, "http", at: ms("2026-05-10T12:00:20Z"), ["route": "/b"])
        ingest(e, "http", at: ms("2026-05-10T12:00:30Z"), ["route": "/c"])
        XCTAssertEqual(sortedRows(e.flush()).map { "\($0.labels)=\($0.value ?? -1)" }, [overflow + "=2.0", #"{"route":"/a"}=1.0"#])
    }

    /// Random label values against a reference that admits, per metric, the first `cap` label
    /// sets in arrival order.
    func testRandomLabelFloodsMatchFirstComeAdmission() {
        for seed in 1...8 {
            var rng = SeededRandom(seed: UInt64(seed))
            let caps = [1 + Int(rng.next() % 20), 1 + Int(rng.next() % 60)]
            let even = FilterExpr.compare(field: "n", op: .less, value: .number(50))
            let e = makeEngine([routes(caps[0], name: "a", filter: even), routes(caps[1], name: "b")])
            var admitted: [[String]] = [[], []]
            var expected: [[String: Int]] = [[:], [:]]
            var overflows = [0, 0]
            for _ in 0..<2_000 {
                // A few frequent values and a long tail of junk.
                let value = rng.next() % 3 == 0 ? "r\(rng.next() % 5)" : "junk\(rng.next() % 400)"
                let n = Int(rng.next() % 100)
                ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": .string(value), "n": .number(Double(n))])
                for m in 0..<2 where m == 1 || n < 50 {
                    let labels = #"{"route":"\#(value)"}"#
                    if admitted[m].contains(labels) || admitted[m].count < caps[m] {
                        if !admitted[m].contains(labels) { admitted[m].append(labels) }
                        expected[m][labels, default: 0] += 1
                    } else {
                        expected[m][overflow, default: 0] += 1
                        overflows[m] += 1
                    }
                }
            }
            var got: [[String: Int]] = [[:], [:]]
            for r in e.flush().rows { got[r.metric == "a" ? 0 : 1][r.labels] = Int(r.value!) }
            XCTAssertEqual(got, expected, "seed \(seed) caps \(caps)")
            XCTAssertEqual(e.labelOverflows, overflows.map(Int64.init), "seed \(seed)")
        }
    }
}
