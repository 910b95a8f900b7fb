import XCTest
@testable import KPICore

/// What the engine folds into each (metric, period, window, label set), read back through flush rows.
final class WindowEngineAggregateTests: XCTestCase {
    func testCountIsPerWindowAndGroup() {
        let e = makeEngine([MetricDefinition(name: "requests", events: ["http"], aggregate: .count,
                                             groupBy: ["route"], windows: [.minute])])
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/a"])
        ingest(e, "http", at: ms("2026-05-10T12:00:20Z"), ["route": "/a"])
        ingest(e, "http", at: ms("2026-05-10T12:00:30Z"), ["route": "/b"])
        ingest(e, "http", at: ms("2026-05-10T12:01:05Z"), ["route": "/a"])
        XCTAssertEqual(sortedRows(e.flush()), [
            row("requests", .minute, "2026-05-10T12:00:00Z", "2026-05-10T12:01:00Z", labels: #"{"route":"/a"}"#, value: 2, samples: 2),
            row("requests", .minute, "2026-05-10T12:00:00Z", "2026-05-10T12:01:00Z", labels: #"{"route":"/b"}"#, value: 1, samples: 1),
            row("requests", .minute, "2026-05-10T12:01:00Z", "2026-05-10T12:02:00Z", labels: #"{"route":"/a"}"#, value: 1, samples: 1),
        ])
        XCTAssertEqual(e.eventsCounted, 4)
    }

    func testMetricsGroupingByTheSameFieldsShareLabelSetsButKeepTheirOwnValues() {
        // `requests` and `slow` share one label table (both group by route); `slow` skips some
        // events through its filter and `by_host` groups differently, so a label set looked up
        // for one event must never leak into the next event or another table.
        let e = makeEngine([
            MetricDefinition(name: "requests", events: ["http"], aggregate: .count, groupBy: ["route"], windows: [.minute]),
            MetricDefinition(name: "slow", events: ["http"], filter: .compare(field: "ms", op: .greaterOrEqual, value: .number(100)),
                             aggregate: .sum("ms"), groupBy: ["route"], windows: [.minute]),
            MetricDefinition(name: "by_host", events: ["http"], aggregate: .count, groupBy: ["host"], windows: [.minute]),
        ])
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/a", "host": "h1", "ms": 150])
        ingest(e, "http", at: ms("2026-05-10T12:00:11Z"), ["route": "/b", "host": "h1", "ms": 50])
        ingest(e, "http", at: ms("2026-05-10T12:00:12Z"), ["route": "/b", "host": "h2", "ms": 300])
        ingest(e, "http", at: ms("2026-05-10T12:00:13Z"), ["route": "/a", "host": "h2", "ms": 20])
        let start = "2026-05-10T12:00:00Z", end = "2026-05-10T12:01:00Z"
        XCTAssertEqual(sortedRows(e.flush()), [
            row("by_host", .minute, start, end, labels: #"{"host":"h1"}"#, value: 2, samples: 2),
            row("by_host", .minute, start, end, labels: #"{"host":"h2"}"#, value: 2, samples: 2),
            row("requests", .minute, start, end, labels: #"{"route":"/a"}"#, value: 2, samples: 2),
            row("requests", .minute, start, end, labels: #"{"route":"/b"}"#, value: 2, samples: 2),
            row("slow", .minute, start, end, labels: #"{"route":"/a"}"#, value: 150, samples: 1),
            row("slow", .minute, start, end, labels: #"{"route":"/b"}"#, value: 300, samples: 1),
        ])
    }

    func testEveryPeriodOfAMetricGetsItsOwnRows() {
        let e = makeEngine([MetricDefinition(name: "requests", events: ["http"], aggregate: .count,
                                             windows: [.minute, .hour, .day, .week, .month])])
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"))
        ingest(e, "http", at: ms("2026-05-10T12:01:10Z"))
        XCTAssertEqual(sortedRows(e.flush()), [
            row("requests", .day, "2026-05-10T00:00:00Z", "2026-05-11T00:00:00Z", value: 2, samples: 2),
            row("requests", .hour, "2026-05-10T12:00:00Z", "2026-05-10T13:00:00Z", value: 2, samples: 2),
            row("requests", .minute, "2026-05-10T12:00:00Z", "2026-05-10T12:01:00Z", value: 1, samples: 1),
            row("requests", .minute, "2026-05-10T12:01:00Z", "2026-05-10T12:02:00Z", value: 1, samples: 1),
            row("requests", .month, "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z", value: 2, samples: 2),
            row("requests", .week, "2026-05-04T00:00:00Z", "2026-05-11T00:00:00Z", value: 2, samples: 2),
        ])
    }

    func testSumMinMaxAvgOfANumericField() throws {
        let defs = [AggregateSpec.sum("ms"), .min("ms"), .max("ms"), .avg("ms")].enumerated().map { i, agg in
            MetricDefinition(name: "m\(i)", events: ["http"], aggregate: agg, windows: [.minute])
        }
        let e = makeEngine(defs)
        for v in [12.5, -2.5, 30.0] {
            ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["ms": .number(v)])
        }
        let rows = sortedRows(e.flush())
        XCTAssertEqual(rows.map(\.metric), ["m0", "m1", "m2", "m3"])
        XCTAssertEqual(rows.map(\.samples), [3, 3, 3, 3])
        XCTAssertEqual(rows[0].value, 40)
        XCTAssertEqual(rows[1].value, -2.5)
        XCTAssertEqual(rows[2].value, 30)
        XCTAssertEqual(try XCTUnwrap(rows[3].value), 40.0 / 3.0, accuracy: 1e-12)
        for r in rows {
            XCTAssertEqual(r.windowStart, ms("2026-05-10T12:00:00Z"))
            XCTAssertEqual(r.windowEnd, ms("2026-05-10T12:01:00Z"))
            XCTAssertEqual(r.labels, "{}")
            XCTAssertFalse(r.isFinal)
        }
    }

    func testMinAndMaxOfASingleNegativeValueAreThatValue() {
        let e = makeEngine([
            MetricDefinition(name: "lo", events: ["t"], aggregate: .min("x"), windows: [.minute]),
            MetricDefinition(name: "hi", events: ["t"], aggregate: .max("x"), windows: [.minute]),
        ])
        ingest(e, "t", at: ms("2026-05-10T12:00:10Z"), ["x": -7])
        XCTAssertEqual(sortedRows(e.flush()).map(\.value), [-7, -7])
    }

    func testAggregatesArePerGroup() {
        let e = makeEngine([MetricDefinition(name: "latency", events: ["http"], aggregate: .avg("ms"),
                                             groupBy: ["route"], windows: [.minute])])
        ingest(e, "http", at: ms("2026-05-10T12:00:01Z"), ["route": "/a", "ms": 10])
        ingest(e, "http", at: ms("2026-05-10T12:00:02Z"), ["route": "/b", "ms": 100])
        ingest(e, "http", at: ms("2026-05-10T12:00:03Z"), ["route": "/a", "ms": 20])
        let rows = sortedRows(e.flush())
        XCTAssertEqual(rows.map(\.labels), [#"{"route":"/a"}"#, #"{"route":"/b"}"#])
        XCTAssertEqual(rows.map(\.value), [15, 100])
        XCTAssertEqual(rows.map(\.samples), [2, 1])
    }

    // MARK: Distinct

    private func distinctEngine() -> WindowEngine {
        makeEngine([MetricDefinition(name: "users", events: ["login"], aggregate: .distinct("user"), windows: [.minute])])
    }

    private func distinctValue(_ values: [JSON]) -> (value: Double?, samples: Int64) {
        let e = distinctEngine()
        for v in values { ingest(e, "login", at: ms("2026-05-10T12:00:10Z"), ["user": v]) }
        let rows = e.flush().rows
        XCTAssertEqual(rows.count, 1)
        return (rows.first?.value, rows.first?.samples ?? -1)
    }

    func testDistinctCountsEachValueOnce() {
        let r = distinctValue(["u1", "u2", "u1", "u3", "u2"])
        XCTAssertEqual(r.value, 3)
        XCTAssertEqual(r.samples, 5)
    }

    func testDistinctTreatsStringOneAndNumberOneAsDifferentValues() {
        XCTAssertEqual(distinctValue(["1", 1, "1", 1.0]).value, 2)
    }

    func testDistinctTreatsNegativeZeroAsZero() {
        XCTAssertEqual(distinctValue([0, .number(-0.0)]).value, 1)
    }

    func testDistinctTreatsBooleansAndNumbersAsDifferentValues() {
        XCTAssertEqual(distinctValue([true, 1, false, 0, true]).value, 4)
    }

    func testDistinctTellsLongStringsDifferingInTheLastByteApart() {
        XCTAssertEqual(distinctValue(["user-000000000001", "user-000000000002", "user-000000000001"]).value, 2)
    }

    func testDistinctCountsEmptyStringsOnceWhateverTheirStorage() {
        // The decoder may hand out "" with or without a base address: it is one value.
        XCTAssertEqual(distinctValue(["", .emptyStringWithoutStorage, ""]).value, 1)
    }

    func testDistinctOfAnAbsentOrNullFieldIsAMissingField() {
        let e = distinctEngine()
        let o1 = ingest(e, "login", at: ms("2026-05-10T12:00:10Z"), [:])
        let o2 = ingest(e, "login", at: ms("2026-05-10T12:00:10Z"), ["user": .null])
        XCTAssertEqual(o1.rejectReason, .missingField)
        XCTAssertEqual(o2.rejectReason, .missingField)
        XCTAssertEqual(e.metricRejects[0], [.missingField: 2])
        XCTAssertTrue(e.flush().rows.isEmpty)
        XCTAssertEqual(e.eventsCounted, 0)
    }

    func testDistinctIsPerWindow() {
        let e = distinctEngine()
        ingest(e, "login", at: ms("2026-05-10T12:00:10Z"), ["user": "a"])
        ingest(e, "login", at: ms("2026-05-10T12:01:10Z"), ["user": "a"])
        ingest(e, "login", at: ms("2026-05-10T12:01:20Z"), ["user": "b"])
        XCTAssertEqual(sortedRows(e.flush()).map(\.value), [1, 2])
    }

    // MARK: Field type errors

    func testNumericAggregateOnAStringFieldIsRejectedForThatMetricOnly() {
        let e = makeEngine([
            MetricDefinition(name: "latency_sum", events: ["http"], aggregate: .sum("ms"), windows: [.minute]),
            MetricDefinition(name: "requests", events: ["http"], aggregate: .count, windows: [.minute]),
        ])
        let o = ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["ms": "12"])
        XCTAssertEqual(o.firstRejectMetric, 0)
        XCTAssertEqual(o.rejectReason, .wrongFieldType)
        XCTAssertEqual(o.rejectReason?.rawValue, "wrong_field_type")
        XCTAssertEqual(o.updates, 1)
        XCTAssertEqual(e.metricRejects[0], [.wrongFieldType: 1])
        XCTAssertEqual(e.metricRejects[1], [:])
        XCTAssertEqual(e.eventsCounted, 1)
        XCTAssertEqual(e.flush().rows.map(\.metric), ["requests"])
    }

    func testNumericAggregateOnABooleanFieldIsAWrongFieldType() {
        let e = makeEngine([MetricDefinition(name: "s", events: ["t"], aggregate: .avg("x"), windows: [.minute])])
        XCTAssertEqual(ingest(e, "t", at: ms("2026-05-10T12:00:10Z"), ["x": true]).rejectReason, .wrongFieldType)
        XCTAssertEqual(e.metricRejects[0], [.wrongFieldType: 1])
    }

    func testNumericAggregateOnAnAbsentOrNullFieldIsAMissingField() {
        let e = makeEngine([
            MetricDefinition(name: "latency_max", events: ["http"], aggregate: .max("ms"), windows: [.minute]),
            MetricDefinition(name: "requests", events: ["http"], aggregate: .count, windows: [.minute]),
        ])
        let o = ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/a"])
        ingest(e, "http", at: ms("2026-05-10T12:00:11Z"), ["ms": .null])
        XCTAssertEqual(o.firstRejectMetric, 0)
        XCTAssertEqual(o.rejectReason, .missingField)
        XCTAssertEqual(o.rejectReason?.rawValue, "missing_field")
        XCTAssertEqual(e.metricRejects[0], [.missingField: 2])
        XCTAssertEqual(e.metricRejects[1], [:])
        let rows = e.flush().rows
        XCTAssertEqual(rows.map(\.metric), ["requests"])
        XCTAssertEqual(rows.first?.samples, 2)
    }

    func testEventRefusedByEveryMetricIsNotCounted() {
        let e = makeEngine([MetricDefinition(name: "s", events: ["t"], aggregate: .sum("x"), windows: [.minute])])
        let o = ingest(e, "t", at: ms("2026-05-10T12:00:10Z"), ["x": "oops"])
        XCTAssertEqual(o.updates, 0)
        XCTAssertEqual(e.eventsCounted, 0)
        XCTAssertEqual(e.openCellCount, 0)
    }

    // MARK: Zones

    func testMetricsInDifferentZonesPutTheSameEventInDifferentDays() {
        let e = makeEngine([
            MetricDefinition(name: "daily_utc", events: ["sale"], aggregate: .count, windows: [.day]),
            MetricDefinition(name: "daily_beirut", events: ["sale"], aggregate: .count, windows: [.day], timeZone: "Asia/Beirut"),
        ])
        // 22:30Z on 15 June is 01:30 on 16 June in Beirut (EEST, +03:00).
        ingest(e, "sale", at: ms("2026-06-15T22:30:00Z"))
        XCTAssertEqual(sortedRows(e.flush()), [
            row("daily_beirut", .day, "2026-06-16T00:00:00+03:00", "2026-06-17T00:00:00+03:00", value: 1, samples: 1),
            row("daily_utc", .day, "2026-06-15T00:00:00Z", "2026-06-16T00:00:00Z", value: 1, samples: 1),
        ])
    }

    func testMetricWithoutAZoneUsesTheConfigZone() {
        let e = makeEngine([MetricDefinition(name: "daily", events: ["sale"], aggregate: .count, windows: [.day])],
                           timeZone: "America/New_York")
        ingest(e, "sale", at: ms("2026-06-16T02:00:00Z")) // 22:00 EDT on 15 June
        XCTAssertEqual(e.flush().rows, [
            row("daily", .day, "2026-06-15T00:00:00-04:00", "2026-06-16T00:00:00-04:00", value: 1, samples: 1),
        ])
    }

    // MARK: Types and catalog

    func testTypeIDByBytesAndByNameAgree() {
        let e = makeEngine([
            MetricDefinition(name: "a", events: ["http", "db"], aggregate: .count, windows: [.minute]),
            MetricDefinition(name: "b", events: ["db", "htap"], aggregate: .count, windows: [.minute]),
        ])
        XCTAssertEqual(Set(e.eventTypes), ["http", "db", "htap"])
        XCTAssertEqual(e.eventTypes.count, 3)
        var ids = Set<Int>()
        for name in ["http", "db", "htap"] {
            let byName = e.typeID(name)
            let byBytes = Array(name.utf8).withUnsafeBytes { e.typeID($0) }
            XCTAssertNotNil(byName, name)
            XCTAssertEqual(byName, byBytes, name)
            if let id = byName { ids.insert(id) }
        }
        XCTAssertEqual(ids.count, 3)
    }

    func testUnknownTypesHaveNoID() {
        let e = makeEngine([MetricDefinition(name: "a", events: ["http"], aggregate: .count, windows: [.minute])])
        for name in ["", "htt", "https", "HTTP", "htTp", "db"] {
            XCTAssertNil(e.typeID(name), name)
            XCTAssertNil(Array(name.utf8).withUnsafeBytes { e.typeID($0) }, name)
        }
        XCTAssertNil(e.typeID(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    func testAnEventIsFoldedOnlyIntoMetricsOfItsType() {
        let e = makeEngine([
            MetricDefinition(name: "http_requests", events: ["http"], aggregate: .count, windows: [.minute]),
            MetricDefinition(name: "queries", events: ["db"], aggregate: .count, windows: [.minute]),
            MetricDefinition(name: "all", events: ["http", "db"], aggregate: .count, windows: [.minute]),
        ])
        XCTAssertEqual(e.metricNames, ["http_requests", "queries", "all"])
        ingest(e, "db", at: ms("2026-05-10T12:00:10Z"))
        ingest(e, "db", at: ms("2026-05-10T12:00:11Z"))
        ingest(e, "http", at: ms("2026-05-10T12:00:12Z"))
        let rows = sortedRows(e.flush())
        XCTAssertEqual(rows.map(\.metric), ["all", "http_requests", "queries"])
        XCTAssertEqual(rows.map(\.samples), [3, 1, 2])
    }

    func testCatalogHasTypeAndTsFirstAndEveryFieldOnce() {
        let e = makeEngine([
            MetricDefinition(name: "a", events: ["http"], filter: .compare(field: "status", op: .greaterOrEqual, value: .number(500)),
                             aggregate: .avg("ms"), groupBy: ["route", "status"], windows: [.minute]),
            MetricDefinition(name: "b", events: ["http"], aggregate: .distinct("user"), groupBy: ["route"], windows: [.minute]),
        ])
        let names = e.catalog.names
        XCTAssertEqual(Array(names.prefix(2)), ["type", "ts"])
        XCTAssertEqual(Set(names), ["type", "ts", "status", "ms", "route", "user"])
        XCTAssertEqual(names.count, 6)
        for (i, n) in names.enumerated() { XCTAssertEqual(e.catalog.existingSlot(for: n), i) }
        XCTAssertNil(e.catalog.existingSlot(for: "nope"))
    }

    func testSequenceTrackingAddsSrcAndSeqToTheCatalogOnlyWhenOn() {
        let m = MetricDefinition(name: "a", events: ["http"], aggregate: .count, windows: [.minute])
        XCTAssertEqual(makeEngine([m], trackSequences: true).catalog.names, ["type", "ts", "src", "seq"])
        XCTAssertEqual(makeEngine([m], trackSequences: false).catalog.names, ["type", "ts"])
    }
}
