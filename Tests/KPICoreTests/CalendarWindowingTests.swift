import Foundation
import XCTest
@testable import KPICore

/// Calendar windows: half-open `[start, end)` intervals of event time, aligned to local time in
/// an IANA zone. Expected edges are written as RFC 3339 instants whose offsets follow the zone's
/// rules (`zdump -v -c 2026,2029 America/New_York Asia/Beirut`):
///
/// - America/New_York: EST −05:00; EDT −04:00 from 2026-03-08 02:00 EST (clock jumps to 03:00)
///   until 2026-11-01 02:00 EDT (clock goes back to 01:00).
/// - Asia/Beirut: EET +02:00; EEST +03:00 from local midnight starting the last Sunday of March
///   (00:00 → 01:00) to local midnight starting the last Sunday of October (00:00 → 23:00 of the
///   Saturday before).
final class CalendarWindowingTests: XCTestCase {
    private func zone(_ id: String) -> CalendarWindowing {
        guard let w = CalendarWindowing(identifier: id) else {
            XCTFail("unknown zone \(id)")
            return CalendarWindowing(timeZone: TimeZone(identifier: "UTC")!)
        }
        return w
    }

    private func beirutTransitions2026() throws -> (springForward: EpochMillis, fallBack: EpochMillis) {
        let tz = try XCTUnwrap(TimeZone(identifier: "Asia/Beirut"))
        let t1 = try XCTUnwrap(tz.nextDaylightSavingTimeTransition(after: date(ms("2026-01-01T00:00:00Z"))))
        let t2 = try XCTUnwrap(tz.nextDaylightSavingTimeTransition(after: t1))
        return (millis(t1), millis(t2))
    }

    // MARK: Unknown zones

    func testUnknownZoneIdentifierGivesNil() {
        XCTAssertNil(CalendarWindowing(identifier: "Mars/Olympus_Mons"))
        XCTAssertNotNil(CalendarWindowing(identifier: "Asia/Beirut"))
    }

    // MARK: Day edges

    func testUTCDayStartsAtMidnightAndTheMillisecondBeforeIsThePreviousDay() {
        let w = zone("UTC")
        assertWindow(w.window(containing: ms("2026-05-10T00:00:00Z"), period: .day),
                     "2026-05-10T00:00:00Z", "2026-05-11T00:00:00Z")
        assertWindow(w.window(containing: ms("2026-05-09T23:59:59.999Z"), period: .day),
                     "2026-05-09T00:00:00Z", "2026-05-10T00:00:00Z")
    }

    func testBeirutDayStartsAtLocalMidnightInSummerAndWinter() {
        let w = zone("Asia/Beirut")
        assertWindow(w.window(containing: ms("2026-06-15T00:00:00+03:00"), period: .day),
                     "2026-06-15T00:00:00+03:00", "2026-06-16T00:00:00+03:00")
        assertWindow(w.window(containing: ms("2026-06-14T23:59:59.999+03:00"), period: .day),
                     "2026-06-14T00:00:00+03:00", "2026-06-15T00:00:00+03:00")
        assertWindow(w.window(containing: ms("2026-01-15T00:00:00+02:00"), period: .day),
                     "2026-01-15T00:00:00+02:00", "2026-01-16T00:00:00+02:00")
        assertWindow(w.window(containing: ms("2026-01-14T23:59:59.999+02:00"), period: .day),
                     "2026-01-14T00:00:00+02:00", "2026-01-15T00:00:00+02:00")
    }

    func testNewYorkDayStartsAtLocalMidnightInSummerAndWinter() {
        let w = zone("America/New_York")
        assertWindow(w.window(containing: ms("2026-01-15T00:00:00-05:00"), period: .day),
                     "2026-01-15T00:00:00-05:00", "2026-01-16T00:00:00-05:00")
        assertWindow(w.window(containing: ms("2026-01-14T23:59:59.999-05:00"), period: .day),
                     "2026-01-14T00:00:00-05:00", "2026-01-15T00:00:00-05:00")
        assertWindow(w.window(containing: ms("2026-07-04T00:00:00-04:00"), period: .day),
                     "2026-07-04T00:00:00-04:00", "2026-07-05T00:00:00-04:00")
        assertWindow(w.window(containing: ms("2026-07-03T23:59:59.999-04:00"), period: .day),
                     "2026-07-03T00:00:00-04:00", "2026-07-04T00:00:00-04:00")
    }

    func testSameInstantIsInDifferentDaysInDifferentZones() {
        // 2026-06-15T22:30Z is 2026-06-16 01:30 in Beirut and 2026-06-15 18:30 in New York.
        let t = ms("2026-06-15T22:30:00Z")
        assertWindow(zone("UTC").window(containing: t, period: .day), "2026-06-15T00:00:00Z", "2026-06-16T00:00:00Z")
        assertWindow(zone("Asia/Beirut").window(containing: t, period: .day),
                     "2026-06-16T00:00:00+03:00", "2026-06-17T00:00:00+03:00")
        assertWindow(zone("America/New_York").window(containing: t, period: .day),
                     "2026-06-15T00:00:00-04:00", "2026-06-16T00:00:00-04:00")
    }

    // MARK: ISO weeks

    private func checkWeekStartsOnMondayMidnight(_ id: String, offset: String, file: StaticString = #filePath, line: UInt = #line) {
        let w = zone(id)
        // 2026-11-23 and 2026-11-30 are Mondays; 2026-11-29 is a Sunday.
        assertWindow(w.window(containing: ms("2026-11-29T23:59:59.999\(offset)"), period: .week),
                     "2026-11-23T00:00:00\(offset)", "2026-11-30T00:00:00\(offset)", id, file: file, line: line)
        assertWindow(w.window(containing: ms("2026-11-30T00:00:00\(offset)"), period: .week),
                     "2026-11-30T00:00:00\(offset)", "2026-12-07T00:00:00\(offset)", id, file: file, line: line)
        assertWindow(w.window(containing: ms("2026-11-23T00:00:00\(offset)"), period: .week),
                     "2026-11-23T00:00:00\(offset)", "2026-11-30T00:00:00\(offset)", id, file: file, line: line)
        assertWindow(w.window(containing: ms("2026-11-22T23:59:59.999\(offset)"), period: .week),
                     "2026-11-16T00:00:00\(offset)", "2026-11-23T00:00:00\(offset)", id, file: file, line: line)
    }

    func testISOWeekStartsOnMondayMidnightInUTC() {
        checkWeekStartsOnMondayMidnight("UTC", offset: "Z")
    }

    func testISOWeekStartsOnMondayMidnightInBeirut() {
        checkWeekStartsOnMondayMidnight("Asia/Beirut", offset: "+02:00")
    }

    func testISOWeekStartsOnMondayMidnightInNewYork() {
        checkWeekStartsOnMondayMidnight("America/New_York", offset: "-05:00")
    }

    func testISOWeekCrossingTheYearBoundaryRunsFromMonday28DecemberToMonday4January() {
        for (id, offset) in [("UTC", "Z"), ("Asia/Beirut", "+02:00"), ("America/New_York", "-05:00")] {
            let w = zone(id)
            for instant in ["2026-12-28T00:00:00", "2026-12-31T23:59:59.999", "2027-01-01T00:00:00", "2027-01-03T23:59:59.999"] {
                assertWindow(w.window(containing: ms(instant + offset), period: .week),
                             "2026-12-28T00:00:00\(offset)", "2027-01-04T00:00:00\(offset)", "\(id) \(instant)")
            }
            assertWindow(w.window(containing: ms("2027-01-04T00:00:00\(offset)"), period: .week),
                         "2027-01-04T00:00:00\(offset)", "2027-01-11T00:00:00\(offset)", id)
            assertWindow(w.window(containing: ms("2026-12-27T23:59:59.999\(offset)"), period: .week),
                         "2026-12-21T00:00:00\(offset)", "2026-12-28T00:00:00\(offset)", id)
        }
    }

    func testNewYorkWeekWithTheSpringForwardIs167HoursLong() {
        let w = zone("America/New_York").window(containing: ms("2026-03-08T12:00:00-04:00"), period: .week)
        assertWindow(w, "2026-03-02T00:00:00-05:00", "2026-03-09T00:00:00-04:00")
        XCTAssertEqual(w.end - w.start, 167 * hour)
    }

    func testNewYorkWeekWithTheFallBackIs169HoursLong() {
        let w = zone("America/New_York").window(containing: ms("2026-10-28T12:00:00-04:00"), period: .week)
        assertWindow(w, "2026-10-26T00:00:00-04:00", "2026-11-02T00:00:00-05:00")
        XCTAssertEqual(w.end - w.start, 169 * hour)
    }

    func testBeirutWeeksWithTheDSTChangesAre167And169HoursLong() throws {
        let (spring, fall) = try beirutTransitions2026()
        let w1 = zone("Asia/Beirut").window(containing: spring, period: .week)
        assertWindow(w1, "2026-03-23T00:00:00+02:00", "2026-03-30T00:00:00+03:00")
        XCTAssertEqual(w1.end - w1.start, 167 * hour)
        let w2 = zone("Asia/Beirut").window(containing: fall, period: .week)
        assertWindow(w2, "2026-10-19T00:00:00+03:00", "2026-10-26T00:00:00+02:00")
        XCTAssertEqual(w2.end - w2.start, 169 * hour)
    }

    // MARK: Months

    func testJanuary31IsInJanuaryAndFebruary1StartsFebruary() {
        for (id, offset) in [("UTC", "Z"), ("Asia/Beirut", "+02:00"), ("America/New_York", "-05:00")] {
            let w = zone(id)
            assertWindow(w.window(containing: ms("2026-01-31T23:59:59.999\(offset)"), period: .month),
                         "2026-01-01T00:00:00\(offset)", "2026-02-01T00:00:00\(offset)", id)
            assertWindow(w.window(containing: ms("2026-02-01T00:00:00\(offset)"), period: .month),
                         "2026-02-01T00:00:00\(offset)", "2026-03-01T00:00:00\(offset)", id)
        }
    }

    func testLeapFebruary2028Has29Days() {
        // No DST change in February 2028 in any of these zones.
        for (id, offset) in [("UTC", "Z"), ("Asia/Beirut", "+02:00"), ("America/New_York", "-05:00")] {
            let w = zone(id).window(containing: ms("2028-02-29T12:00:00\(offset)"), period: .month)
            assertWindow(w, "2028-02-01T00:00:00\(offset)", "2028-03-01T00:00:00\(offset)", id)
            XCTAssertEqual(w.end - w.start, 29 * day, id)
        }
    }

    func testFebruary2027Has28Days() {
        let w = zone("UTC").window(containing: ms("2027-02-14T00:00:00Z"), period: .month)
        assertWindow(w, "2027-02-01T00:00:00Z", "2027-03-01T00:00:00Z")
        XCTAssertEqual(w.end - w.start, 28 * day)
    }

    func testNewYorkMarchWithTheSpringForwardIsOneHourShort() {
        let w = zone("America/New_York").window(containing: ms("2026-03-20T00:00:00-04:00"), period: .month)
        assertWindow(w, "2026-03-01T00:00:00-05:00", "2026-04-01T00:00:00-04:00")
        XCTAssertEqual(w.end - w.start, 31 * day - hour)
    }

    // MARK: DST in New York

    func testNewYorkSpringForwardDayIs23HoursLong() {
        let w = zone("America/New_York")
        let d = w.window(containing: ms("2026-03-08T12:00:00-04:00"), period: .day)
        assertWindow(d, "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00")
        XCTAssertEqual(d.end - d.start, 23 * hour)
        // The instants around the jump (01:59:59.999 EST, 03:00 EDT) are in that same day.
        XCTAssertEqual(w.window(containing: ms("2026-03-08T01:59:59.999-05:00"), period: .day), d)
        XCTAssertEqual(w.window(containing: ms("2026-03-08T03:00:00-04:00"), period: .day), d)
    }

    func testNewYorkFallBackDayIs25HoursLong() {
        let w = zone("America/New_York")
        let d = w.window(containing: ms("2026-11-01T12:00:00-05:00"), period: .day)
        assertWindow(d, "2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00")
        XCTAssertEqual(d.end - d.start, 25 * hour)
        XCTAssertEqual(w.window(containing: ms("2026-11-01T01:30:00-04:00"), period: .day), d)
        XCTAssertEqual(w.window(containing: ms("2026-11-01T01:30:00-05:00"), period: .day), d)
    }

    func testNewYorkRepeatedFallBackHourIsTwoDistinctOneHourWindows() {
        let w = zone("America/New_York")
        let edt = w.window(containing: ms("2026-11-01T01:30:00-04:00"), period: .hour)
        let est = w.window(containing: ms("2026-11-01T01:30:00-05:00"), period: .hour)
        assertWindow(edt, "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00")
        assertWindow(est, "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00")
        XCTAssertNotEqual(edt, est)
        XCTAssertEqual(edt.end - edt.start, hour)
        XCTAssertEqual(est.end - est.start, hour)
        // The hours around them are ordinary.
        assertWindow(w.window(containing: ms("2026-11-01T00:59:59.999-04:00"), period: .hour),
                     "2026-11-01T00:00:00-04:00", "2026-11-01T01:00:00-04:00")
        assertWindow(w.window(containing: ms("2026-11-01T02:00:00-05:00"), period: .hour),
                     "2026-11-01T02:00:00-05:00", "2026-11-01T03:00:00-05:00")
    }

    func testNewYorkSpringForwardHourAfterOneAMIsThreeAM() {
        let w = zone("America/New_York")
        let one = w.window(containing: ms("2026-03-08T01:59:59.999-05:00"), period: .hour)
        assertWindow(one, "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00")
        XCTAssertEqual(one.end - one.start, hour)
        assertWindow(w.window(containing: ms("2026-03-08T03:00:00-04:00"), period: .hour),
                     "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00")
    }

    // MARK: DST in Beirut (found with Foundation)

    func testBeirut2026TransitionsAreAtLocalMidnightOfTheLastSundaysOfMarchAndOctober() throws {
        let (spring, fall) = try beirutTransitions2026()
        let tz = try XCTUnwrap(TimeZone(identifier: "Asia/Beirut"))
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = tz
        func local(_ t: EpochMillis) -> DateComponents {
            cal.dateComponents([.year, .month, .day, .hour, .minute, .weekday], from: date(t))
        }
        // Spring: Sunday 29 March 00:00 EET does not exist; the clock reads 01:00 EEST.
        XCTAssertEqual(tz.secondsFromGMT(for: date(spring - 1)), 2 * 3600)
        XCTAssertEqual(tz.secondsFromGMT(for: date(spring)), 3 * 3600)
        let s = local(spring)
        XCTAssertEqual([s.month, s.day, s.hour, s.minute, s.weekday], [3, 29, 1, 0, 1]) // weekday 1 = Sunday
        XCTAssertEqual(spring, ms("2026-03-29T01:00:00+03:00"))
        // Autumn: at Sunday 25 October 00:00 EEST the clock goes back to Saturday 23:00 EET.
        XCTAssertEqual(tz.secondsFromGMT(for: date(fall - 1)), 3 * 3600)
        XCTAssertEqual(tz.secondsFromGMT(for: date(fall)), 2 * 3600)
        let f = local(fall)
        XCTAssertEqual([f.month, f.day, f.hour, f.minute, f.weekday], [10, 24, 23, 0, 7]) // weekday 7 = Saturday
        XCTAssertEqual(fall, ms("2026-10-25T00:00:00+03:00"))
    }

    func testBeirutSpringForwardDayStartsAtOneAMAndIs23HoursLong() throws {
        let (spring, _) = try beirutTransitions2026()
        let w = zone("Asia/Beirut")
        // Local midnight does not exist that day: the day starts at the transition, 01:00 EEST.
        let d = w.window(containing: spring, period: .day)
        XCTAssertEqual(d.start, spring)
        XCTAssertEqual(d.end - d.start, 23 * hour)
        assertWindow(d, "2026-03-29T01:00:00+03:00", "2026-03-30T00:00:00+03:00")
        // One millisecond earlier is the last instant of Saturday, an ordinary 24 h day.
        let before = w.window(containing: spring - 1, period: .day)
        XCTAssertEqual(before.end, spring)
        XCTAssertEqual(before.end - before.start, 24 * hour)
        assertWindow(before, "2026-03-28T00:00:00+02:00", "2026-03-29T01:00:00+03:00")
        // Sunday afternoon is in the short day too.
        XCTAssertEqual(w.window(containing: spring + 12 * hour, period: .day), d)
    }

    func testBeirutFallBackDayIs25HoursLong() throws {
        let (_, fall) = try beirutTransitions2026()
        let w = zone("Asia/Beirut")
        // Saturday 24 October runs from 00:00 EEST to 00:00 EET of Sunday, living 23:00–24:00 twice.
        let d = w.window(containing: fall, period: .day)
        XCTAssertEqual(d.start, fall - 24 * hour)
        XCTAssertEqual(d.end, fall + hour)
        assertWindow(d, "2026-10-24T00:00:00+03:00", "2026-10-25T00:00:00+02:00")
        XCTAssertEqual(d.end - d.start, 25 * hour)
        XCTAssertEqual(w.window(containing: fall - 1, period: .day), d)
        XCTAssertEqual(w.window(containing: fall + hour - 1, period: .day), d)
        // Sunday is an ordinary 24 h day starting at local midnight EET.
        let sunday = w.window(containing: fall + hour, period: .day)
        assertWindow(sunday, "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+02:00")
    }

    func testBeirutHourWindowsAroundTheTransitionsAreOneHourLong() throws {
        let (spring, fall) = try beirutTransitions2026()
        let w = zone("Asia/Beirut")
        XCTAssertEqual(w.window(containing: spring, period: .hour), WindowBounds(start: spring, end: spring + hour))
        XCTAssertEqual(w.window(containing: spring - 1, period: .hour), WindowBounds(start: spring - hour, end: spring))
        // The repeated 23:00 hour: once in EEST, once in EET.
        XCTAssertEqual(w.window(containing: fall - 1, period: .hour), WindowBounds(start: fall - hour, end: fall))
        XCTAssertEqual(w.window(containing: fall, period: .hour), WindowBounds(start: fall, end: fall + hour))
    }

    // MARK: Minutes and hours

    func testMinuteWindowIsTheWholeMinuteContainingTheInstant() {
        let w = zone("UTC")
        assertWindow(w.window(containing: ms("2026-05-10T12:34:56.789Z"), period: .minute),
                     "2026-05-10T12:34:00Z", "2026-05-10T12:35:00Z")
        assertWindow(w.window(containing: ms("2026-05-10T12:34:59.999Z"), period: .minute),
                     "2026-05-10T12:34:00Z", "2026-05-10T12:35:00Z")
        assertWindow(w.window(containing: ms("2026-05-10T12:35:00Z"), period: .minute),
                     "2026-05-10T12:35:00Z", "2026-05-10T12:36:00Z")
    }

    func testMinuteWindowsInNewYorkAndBeirutAreAlignedLikeUTC() {
        let t = ms("2026-11-01T01:30:15.250-05:00")
        for id in ["America/New_York", "Asia/Beirut"] {
            assertWindow(zone(id).window(containing: t, period: .minute),
                         "2026-11-01T06:30:00Z", "2026-11-01T06:31:00Z", id)
        }
    }

    func testHourWindowsFollowAQuarterHourZoneOffset() {
        // Asia/Kathmandu is +05:45 all year: local hours start at :15 UTC.
        let w = zone("Asia/Kathmandu")
        assertWindow(w.window(containing: ms("2026-05-10T12:34:00+05:45"), period: .hour),
                     "2026-05-10T12:00:00+05:45", "2026-05-10T13:00:00+05:45")
        assertWindow(w.window(containing: ms("2026-05-10T06:14:59.999Z"), period: .hour),
                     "2026-05-10T05:15:00Z", "2026-05-10T06:15:00Z")
    }

    func testInstantsBeforeTheEpochFloorIntoTheRightWindow() {
        let w = zone("UTC")
        XCTAssertEqual(w.window(containing: -1, period: .minute), WindowBounds(start: -minute, end: 0))
        assertWindow(w.window(containing: ms("1969-12-31T23:59:58.500Z"), period: .minute),
                     "1969-12-31T23:59:00Z", "1970-01-01T00:00:00Z")
        assertWindow(w.window(containing: -1, period: .day), "1969-12-31T00:00:00Z", "1970-01-01T00:00:00Z")
        XCTAssertEqual(w.window(containing: 0, period: .minute), WindowBounds(start: 0, end: minute))
    }

    // MARK: Cache

    func testCacheGivesTheRightWindowWhenTimesJumpBackAndForthAcrossABoundary() {
        let w = zone("America/New_York")
        let a = ms("2026-05-10T12:00:59.999-04:00"), b = ms("2026-05-10T12:01:00-04:00")
        let c = ms("2026-05-10T12:02:30-04:00"), z = ms("2026-05-10T11:59:30-04:00")
        let wa = WindowBounds(start: ms("2026-05-10T12:00:00-04:00"), end: ms("2026-05-10T12:01:00-04:00"))
        let wb = WindowBounds(start: ms("2026-05-10T12:01:00-04:00"), end: ms("2026-05-10T12:02:00-04:00"))
        let wc = WindowBounds(start: ms("2026-05-10T12:02:00-04:00"), end: ms("2026-05-10T12:03:00-04:00"))
        let wz = WindowBounds(start: ms("2026-05-10T11:59:00-04:00"), end: ms("2026-05-10T12:00:00-04:00"))
        let sequence: [(EpochMillis, WindowBounds)] = [
            (a, wa), (b, wb), (a, wa), (b, wb), (a, wa), (c, wc), (a, wa), (b, wb), (c, wc), (z, wz), (a, wa), (c, wc),
        ]
        for (i, (t, expected)) in sequence.enumerated() {
            XCTAssertEqual(w.window(containing: t, period: .minute), expected, "step \(i): \(describe(expected))")
        }
    }

    func testCacheGivesTheRightDayAcrossTheFallBackWhenTimesJumpBackAndForth() {
        let w = zone("America/New_York")
        let sunday = WindowBounds(start: ms("2026-11-01T00:00:00-04:00"), end: ms("2026-11-02T00:00:00-05:00"))
        let saturday = WindowBounds(start: ms("2026-10-31T00:00:00-04:00"), end: ms("2026-11-01T00:00:00-04:00"))
        let monday = WindowBounds(start: ms("2026-11-02T00:00:00-05:00"), end: ms("2026-11-03T00:00:00-05:00"))
        let steps: [(String, WindowBounds)] = [
            ("2026-11-01T23:59:59.999-05:00", sunday), ("2026-11-02T00:00:00-05:00", monday),
            ("2026-11-01T01:30:00-05:00", sunday), ("2026-10-31T23:59:59.999-04:00", saturday),
            ("2026-11-02T00:00:00.001-05:00", monday), ("2026-11-01T00:00:00-04:00", sunday),
            ("2026-10-31T12:00:00-04:00", saturday),
        ]
        for (t, expected) in steps {
            XCTAssertEqual(w.window(containing: ms(t), period: .day), expected, t)
        }
    }

    func testCacheKeepsPeriodsApart() {
        let w = zone("UTC")
        let t = ms("2026-05-10T12:34:56Z")
        for _ in 0..<2 {
            assertWindow(w.window(containing: t, period: .minute), "2026-05-10T12:34:00Z", "2026-05-10T12:35:00Z")
            assertWindow(w.window(containing: t, period: .hour), "2026-05-10T12:00:00Z", "2026-05-10T13:00:00Z")
            assertWindow(w.window(containing: t, period: .day), "2026-05-10T00:00:00Z", "2026-05-11T00:00:00Z")
            assertWindow(w.window(containing: t, period: .week), "2026-05-04T00:00:00Z", "2026-05-11T00:00:00Z")
            assertWindow(w.window(containing: t, period: .month), "2026-05-01T00:00:00Z", "2026-06-01T00:00:00Z")
        }
    }

    // MARK: Neighbours

    func testNextAndPreviousDaysAroundTheSpringForwardAreAdjacent() {
        let w = zone("America/New_York")
        let d = w.window(containing: ms("2026-03-08T12:00:00-04:00"), period: .day)
        assertWindow(w.previous(before: d, period: .day), "2026-03-07T00:00:00-05:00", "2026-03-08T00:00:00-05:00")
        assertWindow(w.next(after: d, period: .day), "2026-03-09T00:00:00-04:00", "2026-03-10T00:00:00-04:00")
    }

    func testNextMonthAfterJanuaryIsFebruary() {
        let w = zone("Asia/Beirut")
        let jan = w.window(containing: ms("2026-01-10T00:00:00+02:00"), period: .month)
        assertWindow(w.next(after: jan, period: .month), "2026-02-01T00:00:00+02:00", "2026-03-01T00:00:00+02:00")
        assertWindow(w.previous(before: jan, period: .month), "2025-12-01T00:00:00+02:00", "2026-01-01T00:00:00+02:00")
    }

    // MARK: Test helper sanity

    func testRFC3339HelperAgreesWithFoundationDateComponents() throws {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = try XCTUnwrap(TimeZone(secondsFromGMT: -5 * 3600))
        let d = try XCTUnwrap(cal.date(from: DateComponents(year: 2028, month: 2, day: 29, hour: 23, minute: 59, second: 58)))
        XCTAssertEqual(ms("2028-02-29T23:59:58-05:00"), millis(d))
        XCTAssertEqual(ms("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(ms("2000-01-01T00:00:00Z"), 946_684_800_000)
        XCTAssertEqual(ms("2000-01-01T01:00:00.5+01:00"), 946_684_800_500)
    }
}
