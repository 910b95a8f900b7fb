import Foundation
import KPIConfig
import KPICore
import KPIPipeline
import XCTest

/// Derived metrics inside the real ingest path: NDJSON bytes in, the flush carries the derived
/// rows after the engine's, with the salon example's config.
final class DerivedPipelineTests: XCTestCase {
    private var salon: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("conf/examples/salon.toml").path
    }

    func testTheFlushCarriesDerivedRowsOfTheSalonExample() throws {
        let config = try ConfigLoader.load(contentsOf: salon)
        // Tuesday 2026-11-03 10:00 New York (15:00Z).
        let t0: EpochMillis = 1_793_718_000_000
        let pipeline = try IngestPipeline(config: config, clock: ManualClock(t0 + 3_600_000))
        let outcomes = ["ok", "ok", "failed", "ok", "ok"]
        var lines = outcomes.enumerated().map { i, o in
            #"{"type":"booking.attempt","ts":\#(t0 + Int64(i) * 1000),"tenant":"t1","outcome":"\#(o)"}"#
        }
        lines.append(#"{"type":"booking.admin_intervention","ts":\#(t0),"tenant":"t2"}"#)
        let payload = Array(lines.joined(separator: "\n").utf8)
        payload.withUnsafeBytes { pipeline.process(topic: nil, payload: $0, source: 0) }
        let rows = pipeline.flush().batch.rows

        let ok = Double(outcomes.filter { $0 == "ok" }.count), n = Double(outcomes.count)
        let rates = rows.filter { $0.metric == "booking_success_rate" && $0.labels == #"{"tenant":"t1"}"# }
        XCTAssertEqual(Set(rates.map(\.period)), ["day", "week", "month"])
        XCTAssertTrue(rates.allSatisfy { $0.value == ok / n && $0.numerator == ok && $0.denominator == n })
        let t2 = rows.filter { $0.metric == "admin_intervention_rate" && $0.labels == #"{"tenant":"t2"}"# }
        XCTAssertEqual(t2.count, 3)
        XCTAssertTrue(t2.allSatisfy { $0.value == nil && $0.reason == "division_by_zero" })
        let firstDerived = rows.firstIndex { $0.reason != nil || $0.numerator != nil } ?? rows.endIndex
        XCTAssertFalse(rows[firstDerived...].contains { $0.metric == "booking_attempts" }, "derived rows come after the engine's")
    }
}
