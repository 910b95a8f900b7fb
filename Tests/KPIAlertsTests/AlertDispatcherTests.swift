import KPICore
import XCTest

final class AlertDispatcherTests: XCTestCase {
    var config: AlertingConfig = {
        var c = AlertingConfig()
        c.groupBy = ["alertname", "tenant"]
        c.groupWaitMillis = 30 * sec
        c.groupIntervalMillis = 5 * min1
        c.repeatIntervalMillis = 60 * min1
        return c
    }()
    let hook = ReceiverConfig(name: "hook", kind: .webhook)
    let mail: ReceiverConfig = {
        var r = ReceiverConfig(name: "mail", kind: .email)
        r.to = ["ops@example.com"]
        return r
    }()

    func testGroupWaitDelaysTheFirstNotificationAndCollectsTheGroup() {
        var d = AlertDispatcher(config: config, receivers: [hook])
        XCTAssertTrue(d.dispatch([alert("cpu", ["tenant": "t1", "host": "a"])], now: 0).notifications.isEmpty)
        let both = [alert("cpu", ["tenant": "t1", "host": "a"]), alert("cpu", ["tenant": "t1", "host": "b"])]
        XCTAssertTrue(d.dispatch(both, now: 29 * sec).notifications.isEmpty)
        let n = d.dispatch(both, now: 30 * sec).notifications
        XCTAssertEqual(n.count, 1)
        XCTAssertEqual(n[0].alerts.count, 2)
        XCTAssertEqual(n[0].groupLabels, ["alertname": "cpu", "tenant": "t1"])
        XCTAssertEqual(n[0].groupKey, "{}:{alertname=\"cpu\",tenant=\"t1\"}")
        XCTAssertEqual(n[0].commonLabels["host"], nil)
        XCTAssertEqual(n[0].status, "firing")
    }

    func testGroupByLabelsSplitNotifications() {
        var d = AlertDispatcher(config: config, receivers: [hook])
        let alerts = [alert("cpu", ["tenant": "t1"]), alert("cpu", ["tenant": "t2"])]
        _ = d.dispatch(alerts, now: 0)
        XCTAssertEqual(d.dispatch(alerts, now: 30 * sec).notifications.map(\.groupLabels["tenant"]), ["t1", "t2"])
    }

    func testANewAlertWaitsForTheGroupIntervalAndUnchangedGroupsStaySilent() {
        var d = AlertDispatcher(config: config, receivers: [hook])
        let a = alert("cpu", ["tenant": "t1", "host": "a"])
        let b = alert("cpu", ["tenant": "t1", "host": "b"])
        _ = d.dispatch([a], now: 0)
        XCTAssertEqual(d.dispatch([a], now: 30 * sec).notifications.count, 1)
        XCTAssertTrue(d.dispatch([a, b], now: 31 * sec).notifications.isEmpty, "group_interval not yet over")
        let n = d.dispatch([a, b], now: 30 * sec + 5 * min1).notifications
        XCTAssertEqual(n.count, 1)
        XCTAssertEqual(n[0].alerts.count, 2)
        XCTAssertTrue(d.dispatch([a, b], now: 30 * sec + 10 * min1).notifications.isEmpty, "nothing changed, no repeat yet")
    }

    func testRepeatIntervalResendsAFiringGroup() {
        var d = AlertDispatcher(config: config, receivers: [hook])
        let a = alert("cpu", ["tenant": "t1"])
        _ = d.dispatch([a], now: 0)
        XCTAssertEqual(d.dispatch([a], now: 30 * sec).notifications.count, 1)
        var sent = 0
        var t = 30 * sec
        while t <= 30 * sec + 60 * min1 {
            t += 5 * min1
            sent += d.dispatch([a], now: t).notifications.count
        }
        XCTAssertEqual(sent, 1, "one repeat after repeat_interval (60 min), at the first group flush after it")
    }

    func testResolvedGoesOnlyToReceiversWithSendResolved() {
        var d = AlertDispatcher(config: config, receivers: [hook, mail])
        let firing = alert("cpu", ["tenant": "t1"])
        _ = d.dispatch([firing], now: 0)
        XCTAssertEqual(d.dispatch([firing], now: 30 * sec).notifications.map(\.receiver), ["hook", "mail"])
        let resolved = alert("cpu", ["tenant": "t1"], firing: false)
        let n = d.dispatch([resolved], now: 30 * sec + 5 * min1).notifications
        XCTAssertEqual(n.map(\.receiver), ["hook"])
        XCTAssertEqual(n.first?.status, "resolved")
        XCTAssertTrue(d.dispatch([resolved], now: 30 * sec + 10 * min1).notifications.isEmpty, "resolved is sent once")
    }

    func testRuleReceiversRouteAlerts() {
        var d = AlertDispatcher(config: config, receivers: [hook, mail])
        let a = alert("cpu", ["tenant": "t1"], receivers: ["mail"])
        _ = d.dispatch([a], now: 0)
        XCTAssertEqual(d.dispatch([a], now: 30 * sec).notifications.map(\.receiver), ["mail"])
    }

    func testAFiringCriticalMutesLowerSeveritiesWithEqualLabels() {
        var d = AlertDispatcher(config: config, receivers: [hook])
        let critical = alert("tenant_down", ["tenant": "t1"], severity: "critical")
        let high = alert("tenant_slow", ["tenant": "t1"], severity: "high")
        let otherTenant = alert("tenant_slow", ["tenant": "t2"], severity: "high")
        let all = [critical, high, otherTenant]
        XCTAssertEqual(d.unmuted(all).map(\.labels["alertname"]), ["tenant_down", "tenant_slow"])
        XCTAssertEqual(d.unmuted(all).last?.labels["tenant"], "t2")
        _ = d.dispatch(all, now: 0)
        let n = d.dispatch(all, now: 30 * sec).notifications
        XCTAssertEqual(Set(n.map(\.groupKey)), ["{}:{alertname=\"tenant_down\",tenant=\"t1\"}",
                                                "{}:{alertname=\"tenant_slow\",tenant=\"t2\"}"])
        // A resolved critical no longer mutes.
        let after = [alert("tenant_down", ["tenant": "t1"], severity: "critical", firing: false), high, otherTenant]
        XCTAssertEqual(d.unmuted(after).count, 3)
    }

    func testARestartedDispatcherWithTheSavedLogDoesNotNotifyAgain() {
        var d = AlertDispatcher(config: config, receivers: [hook])
        let a = alert("cpu", ["tenant": "t1"])
        _ = d.dispatch([a], now: 0)
        let out = d.dispatch([a], now: 30 * sec)
        XCTAssertEqual(out.notifications.count, 1)
        var restarted = AlertDispatcher(config: config, receivers: [hook])
        restarted.restore(log: out.logChanges.compactMapValues { $0 })
        _ = restarted.dispatch([a], now: 40 * sec)
        XCTAssertTrue(restarted.dispatch([a], now: 70 * sec).notifications.isEmpty)
        // But a new alert in that group is sent.
        let b = alert("cpu", ["tenant": "t1", "host": "b"])
        XCTAssertEqual(restarted.dispatch([a, b], now: 70 * sec + 5 * min1).notifications.count, 1)
    }

    func testIdempotencyKeysDifferPerNotification() {
        var d = AlertDispatcher(config: config, receivers: [hook, mail])
        let a = alert("cpu", ["tenant": "t1"])
        _ = d.dispatch([a], now: 0)
        let keys = d.dispatch([a], now: 30 * sec).notifications.map(\.idempotencyKey)
        XCTAssertEqual(Set(keys).count, 2)
        XCTAssertEqual(keys[0].count, 32)
    }
}
