import XCTest
@testable import KPICore

/// Quantile and large distinct metrics in the engine: the rows they produce and the input they refuse.
final class WindowEngineSketchTests: XCTestCase {
    private let start = "2026-05-10T12:00:00Z", end = "2026-05-10T12:01:00Z"

    func testQuantileMetricsWriteOneLabelledRowPerQuantile() {
        let e = makeEngine([MetricDefinition(name: "latency", events: ["http"], aggregate: .quantile("ms", [0.5, 0.95]),
                                             groupBy: ["route"], windows: [.minute])])
        var values: [Double] = []
        for i in 1...200 {
            let v = Double(i * 7 % 200 + 1) // 1 … 200, shuffled
            values.append(v)
            ingest(e, "http", at: ms(start) + Int64(i), ["route": "/a", "ms": .number(v)])
        }
        ingest(e, "http", at: ms(start) + 500, ["route": "/b", "ms": 42])
        let rows = sortedRows(e.flush())
        XCTAssertEqual(rows.map(\.labels), [
            #"{"quantile":"0.5","route":"/a"}"#, #"{"quantile":"0.5","route":"/b"}"#,
            #"{"quantile":"0.95","route":"/a"}"#, #"{"quantile":"0.95","route":"/b"}"#,
        ])
        let sorted = values.sorted()
        XCTAssertEqual(rows[0].value!, sorted[99], accuracy: sorted[99] * 0.01)   // rank 100 of 200
        XCTAssertEqual(rows[2].value!, sorted[189], accuracy: sorted[189] * 0.01) // rank 190
        XCTAssertEqual(rows[1].value, 42)
        XCTAssertEqual(rows[3].value, 42)
        XCTAssertEqual(rows.map(\.samples), [200, 1, 200, 1])
        XCTAssertTrue(rows.allSatisfy { $0.estimated && $0.metric == "latency" && $0.period == "minute" })
    }

    func testMedianWithoutGroupByIsLabelledWithItsQuantileOnly() {
        let e = makeEngine([MetricDefinition(name: "median_ms", events: ["http"], aggregate: .quantile("ms", [0.5]), windows: [.minute])])
        for v in [5.0, 1, 3] { ingest(e, "http", at: ms(start), ["ms": .number(v)]) }
        let rows = e.flush().rows
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0].labels, #"{"quantile":"0.5"}"#)
        XCTAssertEqual(rows[0].value!, 3, accuracy: 0.03)
    }

    func testQuantilesRefuseNegativeNonFiniteAndNonNumericValuesPerMetric() {
        let e = makeEngine([
            MetricDefinition(name: "p95", events: ["http"], aggregate: .quantile("ms", [0.95]), windows: [.minute]),
            MetricDefinition(name: "total", events: ["http"], aggregate: .sum("ms"), windows: [.minute]),
            MetricDefinition(name: "requests", events: ["http"], aggregate: .count, windows: [.minute]),
        ])
        let t = ms(start)
        var o = ingest(e, "http", at: t, ["ms": -5])
        XCTAssertEqual(o.rejectReason, .negativeValue)
        XCTAssertEqual(o.updates, 2) // sum and count still counted it
        o = ingest(e, "http", at: t, ["ms": .number(.nan)])
        XCTAssertEqual(o.rejectReason, .notFinite)
        XCTAssertEqual(o.updates, 1) // count only: sum refuses NaN too
        o = ingest(e, "http", at: t, ["ms": .number(-.infinity)])
        XCTAssertEqual(o.rejectReason, .notFinite)
        o = ingest(e, "http", at: t, ["ms": "12"])
        XCTAssertEqual(o.rejectReason, .wrongFieldType)
        XCTAssertEqual(o.updates, 1)
        ingest(e, "http", at: t, ["ms": 10])
        ingest(e, "http", at: t, ["ms": 0])
        let p95 = e.metricNames.firstIndex(of: "p95")!, total = e.metricNames.firstIndex(of: "total")!
        XCTAssertEqual(e.metricRejects[p95], [.negativeValue: 1, .notFinite: 2, .wrongFieldType: 1])
        XCTAssertEqual(e.metricRejects[total], [.notFinite: 2, .wrongFieldType: 1])
        let rows = sortedRows(e.flush())
        XCTAssertEqual(rows.map(\.metric), ["p95", "requests", "total"])
        XCTAssertEqual(rows[0].value, 10)
        XCTAssertEqual(rows[0].samples, 2)
        XCTAssertEqual(rows[1].value, 6)
        XCTAssertEqual(rows[2].value, 5) // -5 + 10 + 0
    }

    func testDistinctRowsSayWhenTheCountBecameAnEstimate() {
        var def = MetricDefinition(name: "users", events: ["login"], aggregate: .distinct("user"), windows: [.minute])
        def.distinctExactMax = 300
        let e = makeEngine([def])
        for i in 0..<300 { ingest(e, "login", at: ms(start), ["user": .string("u\(i)")]) }
        ingest(e, "login", at: ms(start), ["user": "u0"])
        var rows = e.flush().rows
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0].value, 300)
        XCTAssertFalse(rows[0].estimated)
        XCTAssertEqual(rows[0].samples, 301)
        ingest(e, "login", at: ms(start), ["user": "u300"])
        rows = e.flush().rows
        XCTAssertTrue(rows[0].estimated)
        XCTAssertEqual(rows[0].value!, 301, accuracy: 301 * 0.025)
        // Another window starts exact again.
        ingest(e, "login", at: ms(end), ["user": "u0"])
        rows = e.flush().rows
        XCTAssertEqual(rows.map(\.windowStart), [ms(end)])
        XCTAssertEqual(rows.map(\.estimated), [false])
        XCTAssertEqual(rows.first?.value, 1)
    }

    func testFinalQuantileRowsAreEmittedOnceAndTheCellIsFreed() {
        let e = makeEngine([MetricDefinition(name: "p", events: ["http"], aggregate: .quantile("ms", [0.5, 0.99]), windows: [.minute])],
                           lateness: 0)
        ingest(e, "http", at: ms(start), ["ms": 3])
        ingest(e, "http", at: ms(end) + 1, ["ms": 4])
        let rows = sortedRows(e.flush())
        XCTAssertEqual(rows.filter(\.isFinal).count, 2)
        XCTAssertEqual(rows.filter { !$0.isFinal }.count, 2)
        XCTAssertEqual(e.openCellCount, 1)
    }
}

final class CanonicalLabelInsertTests: XCTestCase {
    func testInsertsInSortedPlaceWhateverTheValues() {
        XCTAssertEqual(CanonicalLabels.inserting("quantile", "0.5", into: "{}"), #"{"quantile":"0.5"}"#)
        XCTAssertEqual(CanonicalLabels.inserting("quantile", "0.5", into: #"{"a":null,"r\"x":"v,}"}"#),
                       #"{"a":null,"quantile":"0.5","r\"x":"v,}"}"#)
        XCTAssertEqual(CanonicalLabels.inserting("quantile", "0.5", into: #"{"route":"/a","tenant":null}"#),
                       #"{"quantile":"0.5","route":"/a","tenant":null}"#)
        XCTAssertEqual(CanonicalLabels.inserting("quantile", "1", into: #"{"a":"1","b":"2"}"#), #"{"a":"1","b":"2","quantile":"1"}"#)
        // Agrees with building the set from scratch.
        let names = ["zone", "Q", "q\n", "quantilf", "quantild"]
        let values: [LabelValue] = [.string(Array("x".utf8)), .null, .string(Array("\"".utf8)), .bool(true), .number(2.5)]
        XCTAssertEqual(CanonicalLabels.inserting("quantile", "0.95", into: CanonicalLabels.json(names: names, values: values)),
                       CanonicalLabels.json(names: names + ["quantile"], values: values + [.string(Array("0.95".utf8))]))
    }

    func testQuantileLabelsUseTheShortestDecimal() {
        XCTAssertEqual([0.5, 0.95, 0.99, 0.999, 1].map(QuantileLabel.text), ["0.5", "0.95", "0.99", "0.999", "1"])
    }
}
