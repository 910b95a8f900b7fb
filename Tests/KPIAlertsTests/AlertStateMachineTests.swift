import KPICore
import XCTest

final class AlertStateMachineTests: XCTestCase {
    func step(_ a: inout AlertInstance, _ holds: Bool, at t: EpochMillis, for f: Int64 = 0, keep: Int64 = 0)
        -> AlertStateMachine.Transition {
        AlertStateMachine.step(&a, holds: holds, now: t, forMillis: f, keepFiringForMillis: keep)
    }

    func testPendingBecomesFiringOnlyOnceForHasElapsed() {
        var a = AlertInstance(rule: "r", seriesLabels: "{}", labels: [:])
        XCTAssertEqual(step(&a, true, at: 0, for: 5 * min1), .becamePending)
        XCTAssertEqual(step(&a, true, at: 5 * min1 - 1, for: 5 * min1), .none)
        XCTAssertEqual(a.phase, .pending)
        XCTAssertEqual(step(&a, true, at: 5 * min1, for: 5 * min1), .fired)
        XCTAssertEqual(a.phase, .firing)
        XCTAssertEqual(a.firedAt, 5 * min1)
        XCTAssertEqual(a.activeAt, 0)
    }

    func testForZeroFiresAtTheFirstEvaluation() {
        var a = AlertInstance(rule: "r", seriesLabels: "{}", labels: [:])
        XCTAssertEqual(step(&a, true, at: 42), .fired)
        XCTAssertEqual(a.firedAt, 42)
    }

    func testPendingIsCancelledWhenTheConditionClearsBeforeFor() {
        var a = AlertInstance(rule: "r", seriesLabels: "{}", labels: [:])
        _ = step(&a, true, at: 0, for: min1)
        XCTAssertEqual(step(&a, false, at: 30 * sec, for: min1), .cancelled)
        XCTAssertEqual(a.phase, .inactive)
        XCTAssertEqual(step(&a, true, at: 40 * sec, for: min1), .becamePending)
        XCTAssertEqual(step(&a, true, at: 90 * sec, for: min1), .none, "the pending timer restarted at 40 s")
        XCTAssertEqual(step(&a, true, at: 100 * sec, for: min1), .fired)
    }

    func testKeepFiringForHoldsThroughAFlap() {
        var a = AlertInstance(rule: "r", seriesLabels: "{}", labels: [:])
        _ = step(&a, true, at: 0, keep: 2 * min1)
        XCTAssertEqual(step(&a, false, at: min1, keep: 2 * min1), .none)
        XCTAssertEqual(a.phase, .firing)
        XCTAssertEqual(step(&a, true, at: 90 * sec, keep: 2 * min1), .none, "flapped back: still the same firing alert")
        XCTAssertEqual(a.firedAt, 0)
        XCTAssertEqual(step(&a, false, at: 90 * sec + 2 * min1 - 1, keep: 2 * min1), .none)
        XCTAssertEqual(step(&a, false, at: 90 * sec + 2 * min1, keep: 2 * min1), .resolved)
        XCTAssertEqual(a.resolvedAt, 90 * sec + 2 * min1)
    }

    func testWithoutKeepFiringForAFlapResolvesAndFiresAgainAsANewAlert() {
        var a = AlertInstance(rule: "r", seriesLabels: "{}", labels: [:])
        _ = step(&a, true, at: 0)
        XCTAssertEqual(step(&a, false, at: 1), .resolved)
        XCTAssertEqual(step(&a, true, at: 2), .fired)
        XCTAssertEqual(a.firedAt, 2)
        XCTAssertNil(a.resolvedAt)
    }
}
