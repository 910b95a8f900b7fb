import Foundation
import GRDB
import KPICore
import XCTest
@testable import KPIStore

/// The `estimated` column (migration `v4-estimated`).
extension KPIStoreTests {
    private func estimatedRow(value: Double, estimated: Bool) -> AggregateRow {
        AggregateRow(metric: "users", period: "hour", windowStart: 0, windowEnd: 3_600_000, labels: "{}",
                     value: value, samples: 10, isFinal: false, estimated: estimated)
    }

    func testTheEstimatedFlagIsStoredAndFollowsTheRow() throws {
        let store = try KPIStore(path: path())
        try write(store, [estimatedRow(value: 100, estimated: false)])
        XCTAssertEqual(try store.aggregates().map(\.estimated), [false])
        try write(store, [estimatedRow(value: 100_001, estimated: true)])
        XCTAssertEqual(try store.aggregates().map(\.estimated), [true])
        XCTAssertEqual(try store.aggregates().map(\.value), [100_001])
    }

    func testAVersionThreeDatabaseGainsTheEstimatedColumnWithZeroForOldRows() throws {
        let old = path("old.db")
        do {
            let queue = try DatabaseQueue(path: old)
            try Schema.migrator.migrate(queue, upTo: "v3-alerts-outbox")
            try queue.write { db in
                try db.execute(sql: """
                    INSERT INTO aggregates (metric, period, window_start, window_end, labels, value, samples, final, updated_at)
                    VALUES ('old', 'hour', '2026-01-01T00:00:00Z', '2026-01-01T01:00:00Z', '{}', 3, 3, 1, '2026-01-01T01:00:01Z')
                    """)
            }
        }
        let store = try KPIStore(path: old)
        XCTAssertTrue(try store.appliedMigrations().contains("v4-estimated"))
        let rows = try store.aggregates()
        XCTAssertEqual(rows.map(\.metric), ["old"])
        XCTAssertEqual(rows.map(\.estimated), [false])
    }
}
