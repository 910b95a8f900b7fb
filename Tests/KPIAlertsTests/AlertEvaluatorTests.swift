import KPICore
import XCTest

final class AlertEvaluatorTests: XCTestCase {
    func testOneRuleWatchesEveryLabelSetThatItsMatchersAccept() {
        let e = AlertEvaluator(rules: [rule(matchers: [LabelMatcher(name: "env", value: "prod")])])
        let c = e.evaluate(rows: [
            row(["retailer": "a", "env": "prod"], value: 0.1, start: 0),
            row(["retailer": "b", "env": "prod"], value: 0.01, start: 0),
            row(["retailer": "c", "env": "test"], value: 0.9, start: 0),
        ], watermark: 10 * sec, now: 0)
        XCTAssertEqual(c.fired.map { $0.labels["retailer"] }, ["a"])
        XCTAssertEqual(c.fired.first?.labels["alertname"], "high_errors")
        XCTAssertEqual(c.fired.first?.labels["severity"], "high")
        XCTAssertEqual(e.activeInstances.count, 1)
    }

    func testPendingTimerRunsOnTheWatermarkNotOnTheWallClock() {
        let e = AlertEvaluator(rules: [rule(forMillis: 5 * min1)])
        _ = e.evaluate(rows: [row(["r": "a"], value: 0.1, start: 0)], watermark: 0, now: 1_000_000)
        // An hour of wall-clock time, but the watermark only moved 4 minutes: still pending.
        var c = e.evaluate(rows: [row(["r": "a"], value: 0.2, start: 4 * min1)], watermark: 4 * min1, now: 1_000_000 + 3_600_000)
        XCTAssertTrue(c.fired.isEmpty)
        XCTAssertEqual(e.instance(rule: "high_errors", seriesLabels: CanonicalLabels.json(["r": "a"]))?.phase, .pending)
        c = e.evaluate(rows: [row(["r": "a"], value: 0.2, start: 5 * min1)], watermark: 5 * min1, now: 1_000_000 + 3_600_001)
        XCTAssertEqual(c.fired.count, 1)
    }

    func testARowOfAnOlderWindowIsIgnored() {
        let e = AlertEvaluator(rules: [rule()])
        _ = e.evaluate(rows: [row(["r": "a"], value: 0.1, start: min1)], watermark: min1, now: 0)
        let c = e.evaluate(rows: [row(["r": "a"], value: 0.0, start: 0)], watermark: min1 + sec, now: 0)
        XCTAssertTrue(c.resolved.isEmpty, "a late update of the previous minute does not replace the current one")
        XCTAssertEqual(e.activeInstances.first?.phase, .firing)
    }

    func testAClosedWindowsValueStopsCountingAndTheAlertResolves() {
        let e = AlertEvaluator(rules: [rule()])
        _ = e.evaluate(rows: [row(["r": "a"], value: 0.1, start: 0)], watermark: 30 * sec, now: 0)
        var c = e.evaluate(rows: [], watermark: 59 * sec, now: 0)
        XCTAssertTrue(c.resolved.isEmpty)
        c = e.evaluate(rows: [], watermark: 60 * sec, now: 0)
        XCTAssertEqual(c.resolved.count, 1)
        XCTAssertEqual(c.resolved.first?.resolvedAt, 60 * sec)
    }

    func testAbsentForFollowsTheWallClockAndResolvesWhenDataReturns() {
        let r = AlertRule(name: "scraper_silent", metric: "scrapes", period: "minute", condition: .absent(forMillis: 30 * min1))
        let e = AlertEvaluator(rules: [r])
        _ = e.evaluate(rows: [row("scrapes", ["retailer": "a"], value: 5, start: 0)], watermark: 0, now: 0)
        // The watermark never moves (no events at all); only the wall clock does.
        XCTAssertTrue(e.evaluate(rows: [], watermark: 0, now: 30 * min1 - 1).fired.isEmpty)
        let c = e.evaluate(rows: [], watermark: 0, now: 30 * min1)
        XCTAssertEqual(c.fired.map { $0.labels["retailer"] }, ["a"])
        let back = e.evaluate(rows: [row("scrapes", ["retailer": "a"], value: 1, start: 40 * min1)], watermark: 0, now: 40 * min1)
        XCTAssertEqual(back.resolved.count, 1)
    }

    func testSilenceIsStillNoticedAfterARestartFromTheSavedLastSeen() {
        let r = AlertRule(name: "scraper_silent", metric: "scrapes", period: "minute", condition: .absent(forMillis: 30 * min1))
        let first = AlertEvaluator(rules: [r])
        let c = first.evaluate(rows: [row("scrapes", ["retailer": "a"], value: 5, start: 0)], watermark: 0, now: 1_000)
        XCTAssertEqual(c.seen.map(\.lastSeen), [1_000])
        let second = AlertEvaluator(rules: [r])
        second.restoreSeen(c.seen)
        XCTAssertTrue(second.evaluate(rows: [], watermark: .min, now: 1_000 + 30 * min1 - 1).fired.isEmpty)
        XCTAssertEqual(second.evaluate(rows: [], watermark: .min, now: 1_000 + 30 * min1).fired.count, 1)
    }

    func testALabelSetThatNeverReportedIsNotAbsent() {
        let r = AlertRule(name: "silent", metric: "scrapes", period: "minute", matchers: [LabelMatcher(name: "retailer", value: "b")],
                          condition: .absent(forMillis: min1))
        let e = AlertEvaluator(rules: [r])
        _ = e.evaluate(rows: [row("scrapes", ["retailer": "a"], value: 5, start: 0)], watermark: 0, now: 0)
        XCTAssertTrue(e.evaluate(rows: [], watermark: 0, now: 10 * min1).fired.isEmpty)
    }

    func testRestoredStateKeepsKeepFiringForAcrossARestart() {
        let r = rule(keep: 10 * min1)
        let first = AlertEvaluator(rules: [r])
        let c = first.evaluate(rows: [row(["r": "a"], value: 0.1, start: 0)], watermark: 30 * sec, now: 0)
        // What the store saved; a new evaluator ("after the restart") loads it.
        let second = AlertEvaluator(rules: [r])
        XCTAssertTrue(second.restore(c.upserts).isEmpty)
        let after = second.evaluate(rows: [row(["r": "a"], value: 0.0, start: min1)], watermark: 2 * min1, now: 0)
        XCTAssertTrue(after.resolved.isEmpty, "keep_firing_for still holds after the restart")
        XCTAssertTrue(after.fired.isEmpty, "and it is the same alert, not a new one")
        XCTAssertEqual(second.activeInstances.first?.firedAt, 30 * sec)
        let later = second.evaluate(rows: [], watermark: 30 * sec + 10 * min1, now: 0)
        XCTAssertEqual(later.resolved.count, 1)
    }

    func testStateOfARemovedRuleIsReturnedForDeletion() {
        var a = AlertInstance(rule: "gone", seriesLabels: "{}", labels: [:])
        a.phase = .firing
        XCTAssertEqual(AlertEvaluator(rules: [rule()]).restore([a]).map(\.rule), ["gone"])
    }

    func testAnnotationsRenderTheCurrentValue() throws {
        let t = try AlertTemplate("{{ labels.r }} errors {{ value | percent }}")
        let e = AlertEvaluator(rules: [rule(annotations: [("summary", t)])])
        _ = e.evaluate(rows: [row(["r": "acme"], value: 0.0812, start: 0)], watermark: 0, now: 0)
        let a = try XCTUnwrap(e.activeInstances.first)
        XCTAssertEqual(e.annotations(of: a)["summary"], "acme errors 8.12%")
    }
}
