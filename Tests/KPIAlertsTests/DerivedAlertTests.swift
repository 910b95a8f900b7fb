import KPIConfig
import KPICore
import XCTest

/// Alert rules over derived metrics: the derived rows the stage appends to a flush are what the
/// alerting stage evaluates, like any other row.
final class DerivedAlertTests: XCTestCase {
    func testARuleOnADerivedRateFiresFromTheRowsTheDerivedStageAppends() throws {
        let config = try ConfigLoader.parse("""
            [[sources]]
            name = "in"
            kind = "pull"
            bind = ["tcp://127.0.0.1:1"]

            [[metrics]]
            name = "requests"
            events = ["req"]
            aggregate = "count"
            group_by = ["tenant"]
            windows = ["minute"]

            [[metrics]]
            name = "errors"
            events = ["req"]
            filter = "status >= 500"
            aggregate = "count"
            group_by = ["tenant"]
            windows = ["minute"]

            [[metrics]]
            name = "error_rate"
            expr = "ratio(errors, requests)"

            [[alerts]]
            name = "high_error_rate"
            metric = "error_rate"
            above = 0.1
            """)
        let stage = DerivedStage(config: config)
        let alerting = AlertingStage(rules: config.alertRules, receivers: config.receivers, config: config.alerting)
        let start: EpochMillis = 1_763_856_000_000
        var batch = FlushBatch(watermark: start)
        for (tenant, requests, errors) in [("a", 100.0, 30.0), ("b", 100.0, 2.0)] {
            let labels = CanonicalLabels.json(["tenant": tenant])
            batch.rows.append(AggregateRow(metric: "requests", period: "minute", windowStart: start, windowEnd: start + min1,
                                           labels: labels, value: requests, samples: Int64(requests), isFinal: false))
            batch.rows.append(AggregateRow(metric: "errors", period: "minute", windowStart: start, windowEnd: start + min1,
                                           labels: labels, value: errors, samples: Int64(errors), isFinal: false))
        }
        stage.process(&batch)
        let step = alerting.step(rows: batch.rows, watermark: batch.watermark, now: start + 10 * sec)
        XCTAssertEqual(step.changes.fired.map(\.rule), ["high_error_rate"])
        XCTAssertEqual(step.changes.fired.first?.labels["tenant"], "a", "30 % errors fires, 2 % does not")
    }
}
