import KPIConfig
import KPICore
import XCTest

/// `rolling`/`step` and `max_label_sets` in `kpid.toml`.
final class RollingConfigTests: XCTestCase {
    private let source = """
    [[sources]]
    name = "web"
    kind = "sub"
    bind = ["tcp://127.0.0.1:5555"]

    """

    /// A metric table whose last lines are `extra` (the first extra line is
    /// line 9 of the document).
    private func metric(_ extra: String) -> String {
        source + """
        [[metrics]]
        name = "success"
        events = ["scrape.job"]
        aggregate = "count"
        \(extra)

        """
    }

    private func firstError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        let errors = ConfigLoader.diagnose(text, file: "kpid.toml").errors
        XCTAssertFalse(errors.isEmpty, "compiled", file: file, line: line)
        return errors.first
    }

    func testRollingWithoutWindowsCompiles() throws {
        let c = try ConfigLoader.parse(metric("rolling = \"7d\"\nstep = \"1h\""))
        XCTAssertEqual(c.metrics[0].windows, [])
        XCTAssertEqual(c.metrics[0].rolling, RollingWindow(spanMillis: 7 * 86_400_000, stepMillis: 3_600_000, spanText: "7d"))
        XCTAssertEqual(c.metrics[0].rolling?.period, "rolling:7d")
        XCTAssertNil(c.metrics[0].maxLabelSets)
    }

    func testRollingAlongsideCalendarWindows() throws {
        let c = try ConfigLoader.parse(metric("windows = [\"day\"]\nrolling = \"5m\"\nstep = \"10s\""))
        XCTAssertEqual(c.metrics[0].windows, [.day])
        XCTAssertEqual(c.metrics[0].rolling?.stepMillis, 10_000)
        XCTAssertEqual(c.metrics[0].rolling?.period, "rolling:5m")
    }

    func testNeitherWindowsNorRollingIsAnError() {
        let e = firstError(metric(""))
        XCTAssertEqual(e?.key, "metrics[0].windows")
        XCTAssertEqual(e?.hint?.contains("rolling = \"7d\""), true)
    }

    func testRollingNeedsAStepAndStepNeedsRolling() {
        let e = firstError(metric("rolling = \"7d\""))
        XCTAssertEqual(e?.key, "metrics[0].rolling")
        XCTAssertEqual(e?.line, 9)
        XCTAssertEqual(e?.message, "a rolling window needs a step")
        let f = firstError(metric("windows = [\"hour\"]\nstep = \"1h\""))
        XCTAssertEqual(f?.key, "metrics[0].step")
        XCTAssertEqual(f?.line, 10)
        XCTAssertEqual(f?.message, "step applies only to a rolling window")
    }

    func testStepMustDivideTheSpan() {
        let e = firstError(metric("rolling = \"7d\"\nstep = \"5h\""))
        XCTAssertEqual(e?.key, "metrics[0].step")
        XCTAssertEqual(e?.line, 10)
        XCTAssertEqual(e?.message, "the rolling span \"7d\" is not a whole number of steps \"5h\"")
        XCTAssertEqual(e?.hint, "choose a step that divides the span, e.g. \"6h\"")
    }

    func testStepLongerThanTheSpanOrTooManyPanes() {
        XCTAssertEqual(firstError(metric("rolling = \"1h\"\nstep = \"2h\""))?.message,
                       "step \"2h\" is longer than the rolling span \"1h\"")
        let e = firstError(metric("rolling = \"7d\"\nstep = \"30s\""))
        XCTAssertEqual(e?.message, "rolling \"7d\" with step \"30s\" keeps 20160 panes per label set; at most 10080")
        XCTAssertEqual(e?.hint, "a longer step, e.g. \"1m\"")
    }

    func testBadDurationsAreReportedOnTheirKey() {
        XCTAssertEqual(firstError(metric("rolling = \"7 days\"\nstep = \"1h\""))?.key, "metrics[0].rolling")
        XCTAssertEqual(firstError(metric("rolling = \"7d\"\nstep = \"0s\""))?.key, "metrics[0].step")
        XCTAssertEqual(firstError(metric("rolling = 7\nstep = \"1h\""))?.message.contains("bare number 7"), true)
    }

    func testMaxLabelSetsPerMetricAndGlobal() throws {
        let c = try ConfigLoader.parse("[kpid]\nmax_label_sets = 500\n" + metric("windows = [\"hour\"]\nmax_label_sets = 20"))
        XCTAssertEqual(c.maxLabelSets, 500)
        XCTAssertEqual(c.metrics[0].maxLabelSets, 20)
        XCTAssertEqual(try ConfigLoader.parse(metric("windows = [\"hour\"]")).maxLabelSets, 10_000)
        let e = firstError(metric("windows = [\"hour\"]\nmax_label_sets = 0"))
        XCTAssertEqual(e?.key, "metrics[0].max_label_sets")
        XCTAssertEqual(e?.line, 10)
        XCTAssertEqual(e?.message, "must be at least 1, found 0")
    }

    func testAlertsMayWatchTheRollingPeriod() throws {
        let alerts = """
        [[receivers]]
        name = "hook"
        kind = "webhook"
        url = "http://127.0.0.1:9/"

        [[alerts]]
        name = "low"
        metric = "success"
        condition = "value < 10"

        """
        let c = try ConfigLoader.parse(metric("rolling = \"7d\"\nstep = \"1h\"") + alerts)
        XCTAssertEqual(c.alertRules[0].period, "rolling:7d", "the only period of a rolling-only metric")
        let explicit = try ConfigLoader.parse(metric("windows = [\"day\"]\nrolling = \"7d\"\nstep = \"1h\"")
            + alerts + "period = \"rolling:7d\"\n")
        XCTAssertEqual(explicit.alertRules[0].period, "rolling:7d")
        let bad = ConfigLoader.diagnose(metric("windows = [\"day\"]\nrolling = \"7d\"\nstep = \"1h\"") + alerts
            + "period = \"rolling:1d\"\n").errors.first
        XCTAssertEqual(bad?.hint, "one of day, rolling:7d")
    }
}
