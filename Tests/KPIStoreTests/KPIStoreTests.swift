import Foundation
import GRDB
import KPICore
import XCTest
@testable import KPIStore

/// The SQLite store against a real database file in a temporary directory.
final class KPIStoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpistore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func path(_ name: String = "kpid.db") -> String { dir.appendingPathComponent(name).path }

    func row(_ metric: String = "m", start: EpochMillis = 0, labels: String = "{}", value: Double?, samples: Int64, final: Bool = false) -> AggregateRow {
        AggregateRow(metric: metric, period: "hour", windowStart: start, windowEnd: start + 3_600_000,
                     labels: labels, value: value, samples: samples, isFinal: final)
    }

    func write(_ store: KPIStore, _ rows: [AggregateRow], counters: [CounterDelta] = [], rejects: [RejectSample] = []) throws {
        var batch = FlushBatch(watermark: 0)
        batch.rows = rows
        try store.write(.init(batch: batch, counters: counters, rejects: rejects, now: 1_000))
    }

    func testNewDatabaseIsWALWithAllMigrationsAndMode0640() throws {
        let store = try KPIStore(path: path())
        XCTAssertEqual(try store.journalMode(), "wal")
        XCTAssertEqual(Set(try store.appliedMigrations()), ["v1-aggregates-rejects-counters", "v2-qualified-events", "v3-alerts-outbox",
                                                             "v4-estimated", "v5-derived", "v6-journal", "v7-state", "v8-journal-compression"])
        let attrs = try FileManager.default.attributesOfItem(atPath: path())
        XCTAssertEqual((attrs[.posixPermissions] as? NSNumber)?.intValue, 0o640)
    }

    func testQualifiedEventsAreAppendedAndPrunedPerPipelineByEventTime() throws {
        let store = try KPIStore(path: path())
        let events = [
            QualifiedEvent(pipeline: "a", timestamp: 1_000, fields: #"{"visitor":"v1"}"#),
            QualifiedEvent(pipeline: "a", timestamp: 5_000, fields: #"{"visitor":"v2"}"#),
            QualifiedEvent(pipeline: "b", timestamp: 1_000, fields: "{}"),
        ]
        try store.write(.init(batch: FlushBatch(watermark: 0), now: 9_000, qualified: events))
        try store.write(.init(batch: FlushBatch(watermark: 0), now: 9_000, qualifiedCutoffs: ["a": 2_000]))
        let rows = try DatabaseQueue(path: path()).read { db in
            try Row.fetchAll(db, sql: "SELECT pipeline, ts, ts_ms, fields FROM qualified_events ORDER BY id")
        }
        XCTAssertEqual(rows.map { $0["pipeline"] as String }, ["a", "b"], "only pipeline a's old event is pruned")
        XCTAssertEqual(rows.first?["ts"] as String?, "1970-01-01T00:00:05Z")
        XCTAssertEqual(rows.first?["fields"] as String?, #"{"visitor":"v2"}"#)
    }

    func testDatabaseDirectoryIsCreated() throws {
        let nested = dir.appendingPathComponent("var/lib/kpid/kpid.db").path
        _ = try KPIStore(path: nested)
        XCTAssertTrue(FileManager.default.fileExists(atPath: nested))
    }

    func testReopeningAnExistingDatabaseKeepsItsRows() throws {
        do {
            let store = try KPIStore(path: path())
            try write(store, [row(value: 3, samples: 3)])
        }
        let again = try KPIStore(path: path())
        XCTAssertEqual(try again.aggregates().map(\.value), [3])
    }

    func testUpsertReplacesTheValueOfAnOpenWindow() throws {
        let store = try KPIStore(path: path())
        try write(store, [row(value: 1, samples: 1)])
        try write(store, [row(value: 5, samples: 5)])
        let rows = try store.aggregates()
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0].value, 5)
        XCTAssertEqual(rows[0].samples, 5)
        XCTAssertEqual(rows[0].windowStart, "1970-01-01T00:00:00Z")
        XCTAssertEqual(rows[0].windowEnd, "1970-01-01T01:00:00Z")
        XCTAssertFalse(rows[0].final)
    }

    func testFinalRowIsNeverOverwritten() throws {
        let store = try KPIStore(path: path())
        try write(store, [row(value: 7, samples: 7, final: true)])
        try write(store, [row(value: 1, samples: 1, final: false)])
        let rows = try store.aggregates()
        XCTAssertEqual(rows.map(\.value), [7])
        XCTAssertEqual(rows.map(\.final), [true])
    }

    func testNilValueIsStoredAsNull() throws {
        let store = try KPIStore(path: path())
        try write(store, [row(value: nil, samples: 0)])
        XCTAssertNil(try store.aggregates()[0].value)
    }

    func testCounterDeltasAccumulate() throws {
        let store = try KPIStore(path: path())
        try write(store, [], counters: [CounterDelta(name: "rejects", labels: #"{"reason":"bad_ts"}"#, delta: 2)])
        try write(store, [], counters: [CounterDelta(name: "rejects", labels: #"{"reason":"bad_ts"}"#, delta: 3),
                                        CounterDelta(name: "rejects", labels: #"{"reason":"late"}"#, delta: 1)])
        let counters = try store.counters()
        XCTAssertEqual(counters.map(\.value), [5, 1])
    }

    func testRejectSamplesArePrunedPerReasonKeepingTheNewest() throws {
        let store = try KPIStore(path: path())
        var samples: [RejectSample] = []
        for i in 0..<10 {
            samples.append(RejectSample(receivedAt: 1, reason: .malformedJSON, source: "web", sample: Array("bad \(i)".utf8)))
        }
        samples.append(RejectSample(receivedAt: 1, reason: .late, source: "web", metric: "m", sample: Array("late".utf8)))
        try write(store, [], rejects: samples)
        try store.pruneRejects(keepPerReason: 3)
        let kept = try store.rejects()
        XCTAssertEqual(kept.filter { $0.reason == "malformed_json" }.map { String(decoding: $0.sample, as: UTF8.self) },
                       ["bad 9", "bad 8", "bad 7"])
        XCTAssertEqual(kept.filter { $0.reason == "late" }.first?.metric, "m")
    }

    func testQueryFiltersByMetricPeriodTimeRangeAndLabels() throws {
        let store = try KPIStore(path: path())
        let h: EpochMillis = 3_600_000
        try write(store, [
            row("a", start: 0, labels: #"{"retailer":"x"}"#, value: 1, samples: 1),
            row("a", start: h, labels: #"{"retailer":"x"}"#, value: 2, samples: 2),
            row("a", start: h, labels: #"{"retailer":"y"}"#, value: 3, samples: 3),
            row("b", start: h, value: 4, samples: 4),
        ])
        XCTAssertEqual(try store.aggregates(metric: "a").count, 3)
        XCTAssertEqual(try store.aggregates(metric: "a", from: h).map(\.value), [2, 3])
        XCTAssertEqual(try store.aggregates(metric: "a", to: h).map(\.value), [1])
        XCTAssertEqual(try store.aggregates(metric: "a", labels: ["retailer": "y"]).map(\.value), [3])
        XCTAssertEqual(try store.aggregates(metric: "a", period: "day").count, 0)
    }

    func testAReaderHoldingATransactionDoesNotBlockWrites() throws {
        let store = try KPIStore(path: path())
        try write(store, [row(value: 1, samples: 1)])
        let reader = try KPIStore(path: path(), readOnly: true)
        try reader.pool.read { db in
            // While this read transaction is open, the writer commits twice.
            XCTAssertEqual(try Double.fetchOne(db, sql: "SELECT value FROM aggregates"), 1)
            try write(store, [row(value: 2, samples: 2)])
            try write(store, [row(value: 3, samples: 3)])
            // The reader keeps its snapshot.
            XCTAssertEqual(try Double.fetchOne(db, sql: "SELECT value FROM aggregates"), 1)
        }
        XCTAssertEqual(try reader.aggregates().map(\.value), [3])
    }
}

/// Retention: final rows past their period's retention are deleted in bounded batches.
final class RetentionStoreTests: XCTestCase {
    func testOnlyFinalRowsOfThePeriodThatEndedBeforeTheCutoffAreDeleted() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpiret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try KPIStore(path: dir.appendingPathComponent("kpid.db").path)
        var batch = FlushBatch(watermark: 0)
        let minute: Int64 = 60_000
        for i in 0..<10 {
            batch.rows.append(AggregateRow(metric: "m", period: "minute", windowStart: Int64(i) * minute,
                                           windowEnd: Int64(i + 1) * minute, labels: "{}", value: 1, samples: 1, isFinal: i != 2))
        }
        batch.rows.append(AggregateRow(metric: "m", period: "hour", windowStart: 0, windowEnd: 60 * minute, labels: "{}",
                                       value: 1, samples: 1, isFinal: true))
        batch.rows.append(AggregateRow(metric: "m", period: "rolling:1h", windowStart: 0, windowEnd: 60 * minute, labels: "{}",
                                       value: 1, samples: 1, isFinal: true))
        batch.rows.append(AggregateRow(metric: "other", period: "minute", windowStart: 0, windowEnd: minute, labels: "{}",
                                       value: 1, samples: 1, isFinal: true))
        try store.write(.init(batch: batch, now: 1))
        // Windows ending before minute 6: 0…4 end at 1…5; the one ending at 3 is not final.
        XCTAssertEqual(try store.pruneAggregates(metric: "m", period: "minute", endedBefore: 6 * minute, limit: 2), 2)
        XCTAssertEqual(try store.pruneAggregates(metric: "m", period: "minute", endedBefore: 6 * minute, limit: 100), 2)
        XCTAssertEqual(try store.pruneAggregates(metric: "m", period: "minute", endedBefore: 6 * minute, limit: 100), 0)
        XCTAssertEqual(try store.pruneAggregates(metric: "m", period: "rolling", endedBefore: 61 * minute, limit: 100), 1)
        let left = try store.aggregates(metric: "m").map { "\($0.period)@\($0.windowEnd)" }
        let end = { (m: Int64) in "@" + Timestamp.formatRFC3339(m * minute) }
        XCTAssertEqual(Set(left), Set(["minute" + end(3), "minute" + end(6), "minute" + end(7), "minute" + end(8),
                                       "minute" + end(9), "minute" + end(10), "hour" + end(60)]))
        XCTAssertEqual(try store.aggregates(metric: "other").count, 1)
    }
}
