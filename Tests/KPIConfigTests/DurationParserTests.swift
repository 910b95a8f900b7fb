import KPICore
import XCTest

final class DurationParserTests: XCTestCase {
    func testEachUnitIsReadInMilliseconds() {
        XCTAssertEqual(DurationParser.millis("250ms"), 250)
        XCTAssertEqual(DurationParser.millis("30s"), 30_000)
        XCTAssertEqual(DurationParser.millis("1m"), 60_000)
        XCTAssertEqual(DurationParser.millis("2h"), 7_200_000)
        XCTAssertEqual(DurationParser.millis("1d"), 86_400_000)
        XCTAssertEqual(DurationParser.millis("1w"), 604_800_000)
        XCTAssertEqual(DurationParser.millis("0s"), 0)
    }

    func testCombinationsAddUp() {
        XCTAssertEqual(DurationParser.millis("1h30m"), 5_400_000)
        XCTAssertEqual(DurationParser.millis("1m30s500ms"), 90_500)
        XCTAssertEqual(DurationParser.millis("1h 30m"), 5_400_000)
        XCTAssertEqual(DurationParser.millis("  10m "), 600_000)
        XCTAssertEqual(DurationParser.millis("5m5ms"), 300_005)
    }

    func testBareNumbersAndJunkAreNotDurations() {
        for text in ["", " ", "30", "-5s", "1.5s", "s", "5 s", "5min", "5sec", "1x", "1h30", "ms", "1mss", "1S"] {
            XCTAssertNil(DurationParser.millis(text), text)
        }
    }

    func testOverflowIsNotADuration() {
        XCTAssertNil(DurationParser.millis("99999999999999999999ms"))
        XCTAssertNil(DurationParser.millis("9999999999999w"))
        XCTAssertEqual(DurationParser.millis("9223372036854775807ms"), Int64.max)
    }

    func testFormatUsesLargestUnitsFirst() {
        XCTAssertEqual(DurationParser.format(0), "0s")
        XCTAssertEqual(DurationParser.format(250), "250ms")
        XCTAssertEqual(DurationParser.format(1_500), "1s500ms")
        XCTAssertEqual(DurationParser.format(60_000), "1m")
        XCTAssertEqual(DurationParser.format(5_400_000), "1h30m")
        XCTAssertEqual(DurationParser.format(604_800_000 + 86_400_000), "1w1d")
        XCTAssertEqual(DurationParser.format(-90_000), "-1m30s")
        XCTAssertEqual(DurationParser.format(Int64.min).first, "-")
    }

    func testFormatRoundTrips() {
        for ms: Int64 in [1, 999, 1_000, 59_999, 60_000, 3_600_001, 86_400_000 * 13 + 7, Int64.max] {
            XCTAssertEqual(DurationParser.millis(DurationParser.format(ms)), ms, "\(ms)")
        }
    }
}
