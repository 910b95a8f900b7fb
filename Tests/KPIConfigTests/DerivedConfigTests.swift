import KPIConfig
import KPICore
import XCTest

/// Lines 1–4: a source. Lines 6–11 and 13–19: two plain metrics per tenant and day/week in Paris.
private let base = """
[[sources]]
name = "web"
kind = "pull"
bind = ["tcp://127.0.0.1:5555"]

[[metrics]]
name = "attempts"
events = ["booking"]
aggregate = "count"
group_by = ["tenant"]
windows = ["day", "week"]

[[metrics]]
name = "ok"
events = ["booking"]
filter = 'outcome = "ok"'
aggregate = "count"
group_by = ["tenant"]
windows = ["week", "day"]

"""

/// The line on which `needle` last appears in `text` (1-based).
private func line(of needle: String, in text: String) -> Int {
    let lines = text.components(separatedBy: "\n")
    return (lines.lastIndex { $0.contains(needle) } ?? -2) + 1
}

final class DerivedConfigTests: XCTestCase {
    private func errors(_ text: String) -> [ConfigError] {
        ConfigLoader.diagnose(text, file: "kpid.toml").errors
    }

    private func assertOneError(_ text: String, key: String, onLineOf needle: String, contains message: String,
                                file: StaticString = #filePath, line sourceLine: UInt = #line) {
        let errs = errors(text)
        XCTAssertEqual(errs.count, 1, errs.configDescription, file: file, line: sourceLine)
        guard let e = errs.first else { return }
        XCTAssertEqual(e.key, key, e.description, file: file, line: sourceLine)
        XCTAssertEqual(e.line, line(of: needle, in: text), e.description, file: file, line: sourceLine)
        XCTAssertTrue(e.message.contains(message), e.description, file: file, line: sourceLine)
    }

    func testDerivedMetricsInheritWindowsLabelsAndZoneAndComeInDependencyOrder() throws {
        let text = base + """
            [[metrics]]
            name = "rate_change"
            expr = "change(rate)"

            [[metrics]]
            name = "rate"
            expr = "percent(ok, attempts)"
            windows = ["week", "day"]

            [[metrics]]
            name = "failed"
            expr = "difference( attempts , ok )"
            """
        let config = try ConfigLoader.parse(text)
        XCTAssertEqual(config.metrics.map(\.name), ["attempts", "ok"], "derived metrics are not engine metrics")
        XCTAssertEqual(config.derivedMetrics.map(\.name), ["rate", "rate_change", "failed"])
        XCTAssertEqual(config.derivedMetrics[0].expr, .percent("ok", "attempts"))
        XCTAssertEqual(config.derivedMetrics[1].expr, .change("rate"))
        XCTAssertEqual(config.derivedMetrics[2].expr, .difference("attempts", "ok"))
        for d in config.derivedMetrics {
            XCTAssertEqual(Set(d.windows), [.day, .week], d.name)
            XCTAssertEqual(d.groupBy, ["tenant"], d.name)
            XCTAssertNil(d.timeZone, d.name)
        }
        XCTAssertTrue(ConfigSummary.describe(config).contains("rate_change = change(rate)"))
    }

    func testUnknownOperandNamesTheKeyAndLine() {
        let text = base + """
            [[metrics]]
            name = "rate"
            expr = "ratio(okk, attempts)"
            """
        assertOneError(text, key: "metrics[2].expr", onLineOf: "ratio(okk", contains: "unknown metric \"okk\"")
        XCTAssertEqual(errors(text).first?.hint?.contains("did you mean \"ok\"?"), true)
    }

    func testCyclesAreRejected() {
        let text = base + """
            [[metrics]]
            name = "a"
            expr = "ratio(b, attempts)"

            [[metrics]]
            name = "b"
            expr = "delta(a)"
            """
        let errs = errors(text)
        XCTAssertEqual(errs.count, 1, errs.configDescription)
        XCTAssertEqual(errs.first?.key, "metrics[2].expr")
        XCTAssertEqual(errs.first?.message.contains("cycle: a → b → a"), true, errs.configDescription)

        let selfRef = base + """
            [[metrics]]
            name = "a"
            expr = "change(a)"
            """
        assertOneError(selfRef, key: "metrics[2].expr", onLineOf: "change(a)", contains: "cycle: a → a")
    }

    func testOperandsWithOtherWindowsLabelsOrZonesAreRejected() {
        let text = base + """
            [[metrics]]
            name = "hourly"
            events = ["booking"]
            aggregate = "count"
            group_by = ["tenant"]
            windows = ["hour"]

            [[metrics]]
            name = "mixed"
            expr = "ratio(hourly, attempts)"
            """
        assertOneError(text, key: "metrics[3].expr", onLineOf: "ratio(hourly", contains: "disagree on windows")

        let labels = base + """
            [[metrics]]
            name = "all"
            events = ["booking"]
            aggregate = "count"
            windows = ["day", "week"]

            [[metrics]]
            name = "mixed"
            expr = "ratio(ok, all)"
            """
        assertOneError(labels, key: "metrics[3].expr", onLineOf: "ratio(ok, all)", contains: "disagree on group_by")

        let zones = base + """
            [[metrics]]
            name = "paris"
            events = ["booking"]
            aggregate = "count"
            group_by = ["tenant"]
            windows = ["day", "week"]
            time_zone = "Europe/Paris"

            [[metrics]]
            name = "mixed"
            expr = "difference(paris, attempts)"
            """
        assertOneError(zones, key: "metrics[3].expr", onLineOf: "difference(paris", contains: "disagree on time_zone")
    }

    func testStatedWindowsOrGroupByMustMatchTheOperands() {
        let windows = base + """
            [[metrics]]
            name = "rate"
            expr = "ratio(ok, attempts)"
            windows = ["day"]
            """
        assertOneError(windows, key: "metrics[2].windows", onLineOf: #"windows = ["day"]"#, contains: "do not match")

        let groupBy = base + """
            [[metrics]]
            name = "rate"
            expr = "ratio(ok, attempts)"
            group_by = ["tenant", "region"]
            """
        assertOneError(groupBy, key: "metrics[2].group_by", onLineOf: "region", contains: "does not match")
    }

    func testADerivedMetricTakesNoEventsOrAggregate() {
        let text = base + """
            [[metrics]]
            name = "rate"
            expr = "ratio(ok, attempts)"
            aggregate = "count"
            """
        assertOneError(text, key: "metrics[2].aggregate", onLineOf: #"aggregate = "count""#,
                       contains: "takes no aggregate")
    }

    func testExpressionSyntaxErrors() {
        for (expr, message) in [("ratoi(ok, attempts)", "unknown function \"ratoi\""), ("ratio(ok)", "ratio takes two metrics"),
                                ("change(ok, attempts)", "change takes one metric"), ("ratio(ok, 2x)", "invalid operand \"2x\""),
                                ("ok / attempts", "invalid expr")] {
            let text = base + """
                [[metrics]]
                name = "rate"
                expr = "\(expr)"
                """
            assertOneError(text, key: "metrics[2].expr", onLineOf: "expr =", contains: message)
        }
        let text = base + "[[metrics]]\nname = \"rate\"\nexpr = \"ratoi(ok, attempts)\"\n"
        XCTAssertEqual(errors(text).first?.hint?.contains("did you mean ratio?"), true)
    }

    func testNamesAreSharedWithPlainMetrics() {
        let text = base + """
            [[metrics]]
            name = "ok"
            expr = "ratio(ok, attempts)"
            """
        assertOneError(text, key: "metrics[2].name", onLineOf: #"name = "ok""#,
                       contains: "duplicate metric name")
    }

    func testAnOperandThatFailedToCompileIsNotReportedTwice() {
        let text = base + """
            [[metrics]]
            name = "broken"
            events = ["booking"]
            aggregate = "p99(x)"
            group_by = ["tenant"]
            windows = ["day", "week"]

            [[metrics]]
            name = "rate"
            expr = "ratio(broken, attempts)"
            """
        assertOneError(text, key: "metrics[2].aggregate", onLineOf: "p99", contains: "unknown aggregate")
    }

    func testAlertRulesMayWatchADerivedMetric() throws {
        let text = base + """
            [[metrics]]
            name = "success_rate"
            expr = "ratio(ok, attempts)"

            [[alerts]]
            name = "low_success"
            metric = "success_rate"
            period = "day"
            below = 0.9
            match = { tenant = "t1" }
            """
        let config = try ConfigLoader.parse(text)
        XCTAssertEqual(config.alertRules.map(\.metric), ["success_rate"])
    }
}
