import Foundation
import KPIConfig
import KPICore
import XCTest

final class AlertConfigTests: XCTestCase {
    let base = """
    [[sources]]
    name = "s"
    kind = "pull"
    bind = ["tcp://127.0.0.1:5557"]

    [[metrics]]
    name = "errors"
    events = ["req"]
    aggregate = "count"
    group_by = ["tenant"]
    windows = ["minute", "hour"]

    [[receivers]]
    name = "hook"
    kind = "webhook"
    url = "http://127.0.0.1:9/"

    """

    func errors(_ extra: String) -> [ConfigError] { ConfigLoader.diagnose(base + extra).errors }

    func testTheExampleFileLoads() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("conf/examples/alerts.toml").path
        let c = try ConfigLoader.load(contentsOf: path)
        XCTAssertEqual(c.alertRules.map(\.name), ["worker_latency_budget", "worker_traffic_high", "scraper_silent"])
        XCTAssertEqual(c.alertRules[0].condition, .threshold(.greater, 2000))
        XCTAssertEqual(c.alertRules[0].forMillis, 120_000)
        XCTAssertEqual(c.alertRules[0].keepFiringForMillis, 300_000)
        XCTAssertEqual(c.alertRules[0].period, "minute")
        XCTAssertEqual(c.alertRules[1].matchers, [LabelMatcher(name: "tenant", value: "t1")])
        XCTAssertEqual(c.alertRules[2].condition, .absent(forMillis: 1_800_000))
        XCTAssertEqual(c.alertRules[2].period, "hour")
        XCTAssertEqual(c.receivers.map(\.name), ["ops-webhook", "oncall-mail"])
        XCTAssertTrue(c.receivers[0].sendResolved)
        XCTAssertFalse(c.receivers[1].sendResolved)
        XCTAssertEqual(c.alerting.groupBy, ["alertname", "tenant"])
        XCTAssertEqual(c.alerting.repeatIntervalMillis, 4 * 3_600_000)
    }

    func testDefaultsAreAlertmanagers() throws {
        let c = try ConfigLoader.parse(base + """
        [[alerts]]
        name = "e"
        metric = "errors"
        condition = "value >= 0.5%"
        """)
        XCTAssertEqual(c.alertRules[0].condition, .threshold(.greaterOrEqual, 0.005))
        XCTAssertEqual(c.alertRules[0].period, "minute", "the metric's smallest window")
        XCTAssertEqual(c.alerting.groupWaitMillis, 30_000)
        XCTAssertEqual(c.alerting.groupIntervalMillis, 300_000)
        XCTAssertEqual(c.alerting.repeatIntervalMillis, 14_400_000)
        XCTAssertEqual(c.alerting.outboxExpiryMillis, 86_400_000)
        XCTAssertTrue(c.receivers[0].sendResolved)
        XCTAssertEqual(ReceiverConfig(name: "m", kind: .email).sendResolved, false)
        XCTAssertEqual(ReceiverConfig(name: "m", kind: .email).sendmail, ["/usr/sbin/sendmail", "-t", "-i"])
    }

    func testAnUnknownMetricIsAnErrorWithKeyAndLine() {
        let e = errors("""
        [[alerts]]
        name = "e"
        metric = "erors"
        above = 1
        """)
        XCTAssertEqual(e.count, 1)
        XCTAssertEqual(e.first?.key, "alerts[0].metric")
        XCTAssertEqual(e.first?.line, 19)
        XCTAssertTrue(e.first?.hint?.contains("did you mean \"errors\"") ?? false)
    }

    func testAnUnknownReceiverIsAnErrorWithKeyAndLine() {
        let e = errors("""
        [[alerts]]
        name = "e"
        metric = "errors"
        above = 1
        receivers = ["hook", "pager"]
        """)
        XCTAssertEqual(e.map(\.key), ["alerts[0].receivers[1]"])
        XCTAssertEqual(e.first?.line, 21)
        XCTAssertTrue(e.first?.message.contains("unknown receiver \"pager\"") ?? false)
    }

    func testATemplateErrorIsCaughtAtLoad() {
        let e = errors("""
        [[alerts]]
        name = "e"
        metric = "errors"
        above = 1
        annotations = { summary = "{{ labels.tenant }} at {{ value | percnt }}" }
        """)
        XCTAssertEqual(e.map(\.key), ["alerts[0].annotations.summary"])
        XCTAssertEqual(e.first?.line, 21)
        XCTAssertTrue(e.first?.message.contains("unknown filter 'percnt'") ?? false)
    }

    func testConditionMistakes() {
        XCTAssertEqual(errors("[[alerts]]\nname = \"e\"\nmetric = \"errors\"\n").first?.message.contains("has no condition"), true)
        XCTAssertEqual(errors("[[alerts]]\nname = \"e\"\nmetric = \"errors\"\nabove = 1\nbelow = 2\n").map(\.key), ["alerts[0].below"])
        XCTAssertEqual(errors("[[alerts]]\nname = \"e\"\nmetric = \"errors\"\ncondition = \"val > 1\"\n").map(\.key), ["alerts[0].condition"])
        XCTAssertEqual(errors("[[alerts]]\nname = \"e\"\nmetric = \"errors\"\nabove = 1\nperiod = \"day\"\n").map(\.key), ["alerts[0].period"])
        XCTAssertEqual(errors("[[alerts]]\nname = \"e\"\nmetric = \"errors\"\nabove = 1\nseverity = \"urgent\"\n").map(\.key), ["alerts[0].severity"])
        XCTAssertEqual(errors("[[alerts]]\nname = \"e\"\nmetric = \"errors\"\nabove = 1\nmatch = { retailer = \"x\" }\n").map(\.key),
                       ["alerts[0].match.retailer"])
    }

    func testReceiverMistakes() {
        XCTAssertEqual(errors("[[receivers]]\nname = \"m\"\nkind = \"email\"\n").map(\.key), ["receivers[1].to"])
        XCTAssertEqual(errors("[[receivers]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"ftp://x\"\n").map(\.key), ["receivers[1].url"])
        XCTAssertEqual(errors("[[receivers]]\nname = \"w\"\nkind = \"webhook\"\nurl = \"http://x/\"\nhmac_secret_file = \"/nonexistent/secret\"\n").map(\.key),
                       ["receivers[1].hmac_secret_file"])
        XCTAssertEqual(errors("[[receivers]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"http://x/\"\n").first?.message.contains("duplicate"), true)
        XCTAssertEqual(errors("[alerting]\ngroup_wiat = \"1s\"\n").first?.hint, "did you mean \"group_wait\"?")
    }
}
