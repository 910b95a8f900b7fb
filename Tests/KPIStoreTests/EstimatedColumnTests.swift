import Foundation
import GRDB
import KPICore
import XCTest
@testable import KPIStore

/// The `estimated` column (migration `v4-estimated`).
final class EstimatedColumnTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpistore-est-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func row(value: Double, estimated: Bool, labels: String = "{}") -> AggregateRow {
        AggregateRow(metric: "users", period: "hour", windowStart: 0, windowEnd: 3_600_000, labels: labels,
                     value: value, samples: 10, isFinal: false, estimated: estimated)
    }

    private func write(_ store: KPIStore, _ rows: [AggregateRow]) throws {
        var batch = FlushBatch(watermark: 0)
        batch.rows = rows
        try store.write(.init(batch: batch, now: 1_000))
    }

    func testTheFlagIsStoredAndFollowsTheRow() throws {
        let store = try KPIStore(path: dir.appendingPathComponent("k.db").path)
        try write(store, [row(value: 100, estimated: false)])
        XCTAssertEqual(try store.aggregates().map(\.estimated), [false])
        try write(store, [row(value: 100_001, estimated: true)])
        XCTAssertEqual(try store.aggregates().map(\.estimated), [true])
        XCTAssertEqual(try store.aggregates().map(\.value), [100_001])
    }

    func testAVersionThreeDatabaseGainsTheColumnWithZeroForOldRows() throws {
        let path = dir.appendingPathComponent("old.db").path
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: "v3-alerts-outbox")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO aggregates (metric, period, window_start, window_end, labels, value, samples, final, updated_at)
                    VALUES ('old', 'hour', '2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z', '{}', 3, 3, 1, '2026-01-01T01:00:01Z')
                    """)
            }
        }
        let store = try KPIStore(path: path)
        XCTAssertTrue(try store.appliedMigrations().contains("v4-estimated"))
        let rows = try store.aggregates()
        XCTAssertEqual(rows.map(\.metric), ["old"])
        XCTAssertEqual(rows.map(\.estimated), [false])
    }
}
