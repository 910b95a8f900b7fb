import KPIConfig
import KPICore
import XCTest

/// `[retention]` in `kpid.toml`.
final class RetentionConfigTests: XCTestCase {
    private func config(_ retention: String) -> String {
        """
        [retention]
        \(retention)

        [[sources]]
        name = "web"
        kind = "sub"
        bind = ["tcp://127.0.0.1:5555"]

        [[metrics]]
        name = "clicks"
        events = ["click"]
        aggregate = "count"
        windows = ["minute"]

        """
    }

    func testDefaultsKeepMinutesAWeekHoursAndRollingNinetyDaysTheRestForever() throws {
        let c = try ConfigLoader.parse(config(""))
        XCTAssertEqual(c.retention.keepMillis, ["minute": 7 * 86_400_000, "hour": 90 * 86_400_000, "rolling": 90 * 86_400_000])
    }

    func testPeriodsTakeADurationOrForever() throws {
        let c = try ConfigLoader.parse(config("minute = \"2d\"\nhour = \"forever\"\nday = \"400d\""))
        XCTAssertEqual(c.retention.keepMillis["minute"], 2 * 86_400_000)
        XCTAssertNil(c.retention.keepMillis["hour"])
        XCTAssertEqual(c.retention.keepMillis["day"], 400 * 86_400_000)
        XCTAssertEqual(c.retention.keepMillis["rolling"], 90 * 86_400_000)
    }

    func testAnUnknownPeriodOrABadDurationNamesTheKeyAndLine() {
        let unknown = ConfigLoader.diagnose(config("fortnight = \"1d\""), file: "kpid.toml").errors.first
        XCTAssertEqual(unknown?.key, "retention.fortnight")
        XCTAssertEqual(unknown?.line, 2)
        let bad = ConfigLoader.diagnose(config("minute = \"soon\""), file: "kpid.toml").errors.first
        XCTAssertEqual(bad?.key, "retention.minute")
        XCTAssertEqual(bad?.line, 2)
        let zero = ConfigLoader.diagnose(config("hour = \"0s\""), file: "kpid.toml").errors.first
        XCTAssertEqual(zero?.key, "retention.hour")
    }
}
