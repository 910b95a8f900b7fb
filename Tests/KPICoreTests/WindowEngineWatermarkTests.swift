import XCTest
@testable import KPICore

/// Event time: the watermark (largest ts − allowed lateness), late events, and how windows become
/// final, are emitted and freed.
final class WindowEngineWatermarkTests: XCTestCase {
    private func countPerMinute(lateness: Int64 = minute) -> WindowEngine {
        makeEngine([MetricDefinition(name: "requests", events: ["http"], aggregate: .count, windows: [.minute])],
                   lateness: lateness)
    }

    func testWatermarkIsTheLargestEventTimeMinusTheLateness() {
        let e = countPerMinute(lateness: 90 * second)
        XCTAssertEqual(e.watermark, .min)
        XCTAssertEqual(e.maxEventTime, .min)
        ingest(e, "http", at: ms("2026-05-10T12:05:00Z"))
        ingest(e, "http", at: ms("2026-05-10T12:03:00Z"))
        XCTAssertEqual(e.maxEventTime, ms("2026-05-10T12:05:00Z"))
        XCTAssertEqual(e.watermark, ms("2026-05-10T12:03:30Z"))
        XCTAssertEqual(e.flush().watermark, ms("2026-05-10T12:03:30Z"))
    }

    func testOutOfOrderEventsWithinTheLatenessAreCountedInTheirOwnWindows() {
        let e = countPerMinute(lateness: 5 * minute)
        for t in ["12:03:10", "12:01:10", "12:02:10", "12:00:10", "12:03:50", "12:01:59.999"] {
            let o = ingest(e, "http", at: ms("2026-05-10T\(t)Z"))
            XCTAssertEqual(o.late, 0, t)
            XCTAssertEqual(o.updates, 1, t)
        }
        XCTAssertEqual(e.lateEvents, [0])
        XCTAssertEqual(sortedRows(e.flush()), [
            row("requests", .minute, "2026-05-10T12:00:00Z", "2026-05-10T12:01:00Z", value: 1, samples: 1),
            row("requests", .minute, "2026-05-10T12:01:00Z", "2026-05-10T12:02:00Z", value: 2, samples: 2),
            row("requests", .minute, "2026-05-10T12:02:00Z", "2026-05-10T12:03:00Z", value: 1, samples: 1),
            row("requests", .minute, "2026-05-10T12:03:00Z", "2026-05-10T12:04:00Z", value: 2, samples: 2),
        ])
    }

    func testEventWhoseWindowEndsExactlyAtTheWatermarkIsLate() {
        let e = countPerMinute()
        ingest(e, "http", at: ms("2026-05-10T12:05:00Z")) // watermark 12:04:00
        let o = ingest(e, "http", at: ms("2026-05-10T12:03:30Z")) // window [12:03, 12:04)
        XCTAssertEqual(o.late, 1)
        XCTAssertEqual(o.firstLateMetric, 0)
        XCTAssertEqual(o.updates, 0)
        XCTAssertEqual(e.lateEvents, [1])
        XCTAssertEqual(e.eventsCounted, 1)
        XCTAssertEqual(e.flush().rows, [
            row("requests", .minute, "2026-05-10T12:05:00Z", "2026-05-10T12:06:00Z", value: 1, samples: 1),
        ])
    }

    func testEventWhoseWindowEndsOneMillisecondAfterTheWatermarkIsCounted() {
        let e = countPerMinute()
        ingest(e, "http", at: ms("2026-05-10T12:04:59.999Z")) // watermark 12:03:59.999
        let o = ingest(e, "http", at: ms("2026-05-10T12:03:30Z")) // window [12:03, 12:04)
        XCTAssertEqual(o.late, 0)
        XCTAssertEqual(o.firstLateMetric, -1)
        XCTAssertEqual(o.updates, 1)
        XCTAssertEqual(e.lateEvents, [0])
        XCTAssertEqual(sortedRows(e.flush()), [
            row("requests", .minute, "2026-05-10T12:03:00Z", "2026-05-10T12:04:00Z", value: 1, samples: 1),
            row("requests", .minute, "2026-05-10T12:04:00Z", "2026-05-10T12:05:00Z", value: 1, samples: 1),
        ])
    }

    func testZeroLatenessClosesAWindowAsSoonAsAnEventReachesItsEnd() {
        let e = countPerMinute(lateness: 0)
        ingest(e, "http", at: ms("2026-05-10T12:00:59.999Z"))
        ingest(e, "http", at: ms("2026-05-10T12:01:00Z"))
        XCTAssertEqual(ingest(e, "http", at: ms("2026-05-10T12:00:59.999Z")).late, 1)
        XCTAssertEqual(e.lateEvents, [1])
    }

    func testLatenessIsDecidedPerMetricWindow() {
        let e = makeEngine([
            MetricDefinition(name: "per_minute", events: ["http"], aggregate: .count, windows: [.minute]),
            MetricDefinition(name: "per_day", events: ["http"], aggregate: .count, windows: [.day]),
        ])
        ingest(e, "http", at: ms("2026-05-10T12:10:00Z"))
        let o = ingest(e, "http", at: ms("2026-05-10T12:00:10Z"))
        XCTAssertEqual(o.late, 1)
        XCTAssertEqual(o.firstLateMetric, 0)
        XCTAssertEqual(o.updates, 1)
        XCTAssertEqual(e.lateEvents, [1, 0])
        let day = sortedRows(e.flush()).filter { $0.metric == "per_day" }
        XCTAssertEqual(day.map(\.samples), [2])
    }

    func testEventLateForSeveralPeriodsOfOneMetricIsOneLateEvent() {
        let e = makeEngine([MetricDefinition(name: "requests", events: ["http"], aggregate: .count,
                                             windows: [.minute, .hour, .day])])
        ingest(e, "http", at: ms("2026-05-10T14:00:30Z")) // watermark 13:59:30
        let o = ingest(e, "http", at: ms("2026-05-10T12:30:00Z")) // late for its minute and its hour
        XCTAssertEqual(o.late, 2) // two metric windows were final
        XCTAssertEqual(o.updates, 1) // the day is still open
        XCTAssertEqual(e.lateEvents, [1]) // but it is one late event
    }

    func testFinalWindowIsEmittedOnceAsFinalThenFreed() {
        let e = countPerMinute()
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"))
        XCTAssertEqual(e.flush().rows, [
            row("requests", .minute, "2026-05-10T12:00:00Z", "2026-05-10T12:01:00Z", value: 1, samples: 1, final: false),
        ])
        XCTAssertEqual(e.openCellCount, 1)
        ingest(e, "http", at: ms("2026-05-10T12:02:00Z")) // watermark 12:01:00 = end of the first window
        XCTAssertEqual(e.openCellCount, 2)
        XCTAssertEqual(sortedRows(e.flush()), [
            row("requests", .minute, "2026-05-10T12:00:00Z", "2026-05-10T12:01:00Z", value: 1, samples: 1, final: true),
            row("requests", .minute, "2026-05-10T12:02:00Z", "2026-05-10T12:03:00Z", value: 1, samples: 1, final: false),
        ])
        XCTAssertEqual(e.openCellCount, 1)
        XCTAssertTrue(e.flush().rows.isEmpty)
        XCTAssertEqual(e.openCellCount, 1)
    }

    func testChangedWindowThatBecomesFinalIsEmittedOnceAsFinal() {
        let e = countPerMinute()
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"))
        ingest(e, "http", at: ms("2026-05-10T12:00:20Z"))
        ingest(e, "http", at: ms("2026-05-10T12:01:30Z")) // watermark 12:00:30
        ingest(e, "http", at: ms("2026-05-10T12:00:40Z")) // still open, folded in
        ingest(e, "http", at: ms("2026-05-10T12:01:05Z")) // watermark stays 12:00:30
        ingest(e, "http", at: ms("2026-05-10T12:02:00Z")) // watermark 12:01:00: the 12:00 window is final
        let rows = sortedRows(e.flush())
        XCTAssertEqual(rows, [
            row("requests", .minute, "2026-05-10T12:00:00Z", "2026-05-10T12:01:00Z", value: 3, samples: 3, final: true),
            row("requests", .minute, "2026-05-10T12:01:00Z", "2026-05-10T12:02:00Z", value: 2, samples: 2, final: false),
            row("requests", .minute, "2026-05-10T12:02:00Z", "2026-05-10T12:03:00Z", value: 1, samples: 1, final: false),
        ])
    }

    func testWindowBecomesFinalAtFlushWithoutNewEventsInIt() {
        let e = countPerMinute()
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"))
        _ = e.flush()
        ingest(e, "http", at: ms("2026-05-10T12:05:00Z"))
        let finals = e.flush().rows.filter(\.isFinal)
        XCTAssertEqual(finals, [
            row("requests", .minute, "2026-05-10T12:00:00Z", "2026-05-10T12:01:00Z", value: 1, samples: 1, final: true),
        ])
        XCTAssertTrue(e.flush().rows.isEmpty)
    }

    func testUnchangedOpenWindowIsNotEmittedTwice() {
        let e = countPerMinute()
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"))
        XCTAssertEqual(e.flush().rows.count, 1)
        XCTAssertTrue(e.flush().rows.isEmpty)
        ingest(e, "http", at: ms("2026-05-10T12:00:20Z"))
        XCTAssertEqual(e.flush().rows, [
            row("requests", .minute, "2026-05-10T12:00:00Z", "2026-05-10T12:01:00Z", value: 2, samples: 2, final: false),
        ])
        XCTAssertTrue(e.flush().rows.isEmpty)
    }

    func testOnlyTheChangedGroupIsEmittedAgain() {
        let e = makeEngine([MetricDefinition(name: "requests", events: ["http"], aggregate: .count,
                                             groupBy: ["route"], windows: [.minute])])
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/a"])
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": "/b"])
        XCTAssertEqual(e.flush().rows.count, 2)
        ingest(e, "http", at: ms("2026-05-10T12:00:20Z"), ["route": "/b"])
        XCTAssertEqual(e.flush().rows.map(\.labels), [#"{"route":"/b"}"#])
    }

    func testLateEventDoesNotReopenAFinalWindow() {
        let e = countPerMinute()
        ingest(e, "http", at: ms("2026-05-10T12:00:10Z"))
        ingest(e, "http", at: ms("2026-05-10T12:03:00Z"))
        XCTAssertEqual(e.flush().rows.filter(\.isFinal).count, 1)
        let cells = e.openCellCount
        let o = ingest(e, "http", at: ms("2026-05-10T12:00:20Z"))
        XCTAssertEqual(o.late, 1)
        XCTAssertEqual(e.lateEvents, [1])
        XCTAssertEqual(e.openCellCount, cells)
        XCTAssertTrue(e.flush().rows.isEmpty)
    }

    func testAllGroupsOfAWindowBecomeFinalTogether() {
        let e = makeEngine([MetricDefinition(name: "requests", events: ["http"], aggregate: .count,
                                             groupBy: ["route"], windows: [.minute])])
        for r in ["/a", "/b", "/c"] { ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["route": .string(r)]) }
        _ = e.flush()
        XCTAssertEqual(e.openCellCount, 3)
        ingest(e, "http", at: ms("2026-05-10T12:10:00Z"), ["route": "/a"])
        let rows = sortedRows(e.flush())
        XCTAssertEqual(rows.filter(\.isFinal).map(\.labels), [#"{"route":"/a"}"#, #"{"route":"/b"}"#, #"{"route":"/c"}"#])
        XCTAssertEqual(rows.filter { !$0.isFinal }.count, 1)
        XCTAssertEqual(e.openCellCount, 1)
    }

    func testFreedCellsStartAfresh() {
        let e = makeEngine([MetricDefinition(name: "users", events: ["login"], aggregate: .distinct("user"), windows: [.minute])])
        ingest(e, "login", at: ms("2026-05-10T12:00:10Z"), ["user": "a"])
        ingest(e, "login", at: ms("2026-05-10T12:00:20Z"), ["user": "b"])
        ingest(e, "login", at: ms("2026-05-10T12:02:00Z"), ["user": "c"])
        _ = e.flush() // frees the 12:00 cell
        ingest(e, "login", at: ms("2026-05-10T12:04:00Z"), ["user": "a"]) // may reuse it
        _ = e.flush() // frees the 12:02 cell
        ingest(e, "login", at: ms("2026-05-10T12:04:30Z"), ["user": "a"])
        ingest(e, "login", at: ms("2026-05-10T12:05:00Z"), ["user": "d"])
        let open = sortedRows(e.flush()).filter { !$0.isFinal }
        XCTAssertEqual(open, [
            row("users", .minute, "2026-05-10T12:04:00Z", "2026-05-10T12:05:00Z", value: 1, samples: 2),
            row("users", .minute, "2026-05-10T12:05:00Z", "2026-05-10T12:06:00Z", value: 1, samples: 1),
        ])
    }

    func testSameEventsInTheSameOrderGiveTheSameRows() {
        func run() -> [AggregateRow] {
            let e = makeEngine([MetricDefinition(name: "latency", events: ["http"], aggregate: .sum("ms"),
                                                 groupBy: ["route"], windows: [.minute, .hour])])
            let times = ["12:00:10", "12:03:00", "12:00:20", "12:01:10", "12:05:00", "12:02:00"]
            var out: [AggregateRow] = []
            for (i, t) in times.enumerated() {
                ingest(e, "http", at: ms("2026-05-10T\(t)Z"), ["route": i % 2 == 0 ? "/a" : "/b", "ms": .number(Double(i))])
                if i % 2 == 1 { out += sortedRows(e.flush()) }
            }
            return out
        }
        let first = run()
        XCTAssertFalse(first.isEmpty)
        XCTAssertEqual(first, run())
    }
}
