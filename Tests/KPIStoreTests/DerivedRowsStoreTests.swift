import Foundation
import GRDB
import KPICore
import XCTest
@testable import KPIStore

/// Derived rows in SQLite: the `v5-derived` columns, and the final rows the daemon seeds the
/// derived stage with after a restart.
final class DerivedRowsStoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpistore-derived-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private var path: String { dir.appendingPathComponent("kpid.db").path }

    private func write(_ store: KPIStore, _ rows: [AggregateRow]) throws {
        var batch = FlushBatch(watermark: 0)
        batch.rows = rows
        try store.write(.init(batch: batch, now: 1_000))
    }

    func testReasonNumeratorAndDenominatorAreWrittenAndReadBack() throws {
        let store = try KPIStore(path: path)
        try write(store, [
            AggregateRow(metric: "rate", period: "day", windowStart: 0, windowEnd: 86_400_000, labels: #"{"tenant":"a"}"#,
                         value: nil, samples: 0, isFinal: false, reason: "division_by_zero", numerator: 3, denominator: 0),
            AggregateRow(metric: "rate", period: "day", windowStart: 0, windowEnd: 86_400_000, labels: #"{"tenant":"b"}"#,
                         value: 0.5, samples: 4, isFinal: true, numerator: 2, denominator: 4),
            AggregateRow(metric: "plain", period: "day", windowStart: 0, windowEnd: 86_400_000, labels: "{}",
                         value: 7, samples: 7, isFinal: false),
        ])
        let rows = try store.aggregates()
        XCTAssertEqual(rows.map(\.reason), [nil, "division_by_zero", nil])
        XCTAssertEqual(rows.map(\.numerator), [nil, 3, 2])
        XCTAssertEqual(rows.map(\.denominator), [nil, 0, 4])
        XCTAssertEqual(rows[1].value, nil)

        // An open row that gets a value loses its reason.
        try write(store, [AggregateRow(metric: "rate", period: "day", windowStart: 0, windowEnd: 86_400_000,
                                       labels: #"{"tenant":"a"}"#, value: 1, samples: 3, isFinal: false,
                                       numerator: 3, denominator: 3)])
        let a = try store.aggregates(metric: "rate", labels: ["tenant": "a"])
        XCTAssertEqual(a.first?.reason, nil)
        XCTAssertEqual(a.first?.value, 1)
    }

    func testLatestFinalRowsAreTheNewestFinalWindowPerSeries() throws {
        let store = try KPIStore(path: path)
        let dayMs: Int64 = 86_400_000
        func n(_ day: Int64, _ labels: String, _ value: Double, final: Bool, period: String = "day", metric: String = "n") -> AggregateRow {
            AggregateRow(metric: metric, period: period, windowStart: day * dayMs, windowEnd: (day + 1) * dayMs, labels: labels,
                         value: value, samples: Int64(value), isFinal: final)
        }
        try write(store, [
            n(10, #"{"k":"x"}"#, 1, final: true), n(11, #"{"k":"x"}"#, 2, final: true), n(12, #"{"k":"x"}"#, 3, final: false),
            n(9, #"{"k":"y"}"#, 5, final: true),
            n(11, "{}", 8, final: true, period: "week"),
            n(11, #"{"k":"x"}"#, 99, final: true, metric: "other"),
        ])
        let rows = try store.latestFinalRows(metrics: ["n"])
        XCTAssertEqual(rows.map { "\($0.period) \($0.labels) \($0.windowStart / dayMs) \($0.value ?? -1)" },
                       ["day {\"k\":\"x\"} 11 2.0", "day {\"k\":\"y\"} 9 5.0", "week {} 11 8.0"])
        XCTAssertTrue(rows.allSatisfy(\.isFinal))
        XCTAssertEqual(try store.latestFinalRows(metrics: []), [])
    }

    /// The whole restart path: a stage before the restart writes final rows through the store; a
    /// new stage seeded from the store computes the change of the next day against them.
    func testAStageSeededFromTheStoreComputesChangeAcrossARestart() throws {
        var config = KpidConfig()
        config.metrics = [MetricDefinition(name: "n", events: ["e"], aggregate: .count, groupBy: ["k"], windows: [.day])]
        config.derivedMetrics = [DerivedMetricDefinition(name: "n_change", expr: .change("n"), windows: [.day], groupBy: ["k"])]
        let dayMs: Int64 = 86_400_000
        let store = try KPIStore(path: path)
        let before = DerivedStage(config: config)
        var batch = FlushBatch(watermark: 11 * dayMs)
        batch.rows = [AggregateRow(metric: "n", period: "day", windowStart: 10 * dayMs, windowEnd: 11 * dayMs,
                                   labels: #"{"k":"x"}"#, value: 4, samples: 4, isFinal: true)]
        before.process(&batch)
        try store.write(.init(batch: batch, now: 1_000))

        let reopened = try KPIStore(path: path)
        let after = DerivedStage(config: config)
        after.seed(try reopened.latestFinalRows(metrics: after.seedMetrics))
        var next = FlushBatch(watermark: 11 * dayMs + 3_600_000)
        next.rows = [AggregateRow(metric: "n", period: "day", windowStart: 11 * dayMs, windowEnd: 12 * dayMs,
                                  labels: #"{"k":"x"}"#, value: 5, samples: 5, isFinal: false)]
        after.process(&next)
        let change = next.rows.first { $0.metric == "n_change" }
        XCTAssertEqual(change?.value, (5 - 4) / 4.0)
        XCTAssertEqual(change?.denominator, 4)
        try reopened.write(.init(batch: next, now: 2_000))
        let stored = try reopened.aggregates(metric: "n_change")
        XCTAssertEqual(stored.map(\.reason), ["no_previous_window", nil], "day 10 had no day before it; day 11 had")
    }
}
