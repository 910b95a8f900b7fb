import Foundation
import KPICore
import XCTest

final class TimestampTests: XCTestCase {

    private func parse(_ s: String) -> EpochMillis? { Timestamp.parseRFC3339(s) }

    /// Foundation's rendering of the same instant, the reference for known instants.
    private func foundationFormat(_ millis: EpochMillis) -> String {
        let f = ISO8601DateFormatter()
        f.timeZone = TimeZone(identifier: "UTC")
        f.formatOptions = millis % 1000 == 0 ? [.withInternetDateTime] : [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }

    // MARK: Parsing

    func testParsesUTCWithZ() {
        XCTAssertEqual(parse("1970-01-01T00:00:00Z"), 0)
        XCTAssertEqual(parse("2026-11-23T10:00:00Z"), 1_795_428_000_000)
        XCTAssertEqual(parse("1969-12-31T23:59:59Z"), -1000)
        XCTAssertEqual(parse("2000-03-01T00:00:00Z"), 951_868_800_000)
    }

    func testParsesNumericOffsetsIntoUTC() {
        let utc = parse("2026-11-23T10:00:00Z")!
        XCTAssertEqual(parse("2026-11-23T11:00:00+01:00"), utc)
        XCTAssertEqual(parse("2026-11-23T04:30:00-05:30"), utc)
        XCTAssertEqual(parse("2026-11-23T10:00:00+00:00"), utc)
        XCTAssertEqual(parse("2026-11-23T10:00:00-00:00"), utc)
        XCTAssertEqual(parse("2026-11-24T09:59:00+23:59"), utc)
        XCTAssertEqual(parse("2026-11-22T10:00:00.5-24:00"), nil, "offset hour 24 is out of range")
    }

    func testAcceptsLowercaseSeparatorsAndASpaceInsteadOfT() {
        let utc = parse("2026-11-23T10:00:00Z")!
        XCTAssertEqual(parse("2026-11-23t10:00:00z"), utc)
        XCTAssertEqual(parse("2026-11-23 10:00:00Z"), utc)
        XCTAssertEqual(parse("2026-11-23 11:00:00+01:00"), utc)
    }

    func testFractionsOfAnyLengthAreTruncatedToMilliseconds() {
        let base = parse("2026-11-23T10:00:00Z")!
        XCTAssertEqual(parse("2026-11-23T10:00:00.1Z"), base + 100)
        XCTAssertEqual(parse("2026-11-23T10:00:00.12Z"), base + 120)
        XCTAssertEqual(parse("2026-11-23T10:00:00.123Z"), base + 123)
        XCTAssertEqual(parse("2026-11-23T10:00:00.1239Z"), base + 123)
        XCTAssertEqual(parse("2026-11-23T10:00:00.999999999999Z"), base + 999)
        XCTAssertEqual(parse("2026-11-23T10:00:00.000001+01:00"), base - 3_600_000)
        XCTAssertEqual(parse("1969-12-31T23:59:59.999Z"), -1, "fractions count forward even before the epoch")
    }

    func testLeapYearsAreRespected() {
        XCTAssertNotNil(parse("2024-02-29T00:00:00Z"))
        XCTAssertNil(parse("2023-02-29T00:00:00Z"))
        XCTAssertNotNil(parse("2000-02-29T00:00:00Z"))
        XCTAssertNil(parse("1900-02-29T00:00:00Z"))
        XCTAssertNotNil(parse("0000-02-29T00:00:00Z"), "year 0 is a leap year")
        XCTAssertEqual(parse("2024-03-01T00:00:00Z")! - parse("2024-02-28T00:00:00Z")!, 2 * 86_400_000)
    }

    func testDaysWithinMonthsAreValidated() {
        XCTAssertNotNil(parse("2026-04-30T00:00:00Z"))
        XCTAssertNil(parse("2026-04-31T00:00:00Z"))
        XCTAssertNotNil(parse("2026-12-31T00:00:00Z"))
        XCTAssertNil(parse("2026-12-32T00:00:00Z"))
        XCTAssertNil(parse("2026-00-10T00:00:00Z"))
        XCTAssertNil(parse("2026-13-10T00:00:00Z"))
        XCTAssertNil(parse("2026-01-00T00:00:00Z"))
    }

    func testYears0000And9999AreAccepted() {
        XCTAssertEqual(parse("0000-01-01T00:00:00Z"), Timestamp.year0Millis)
        XCTAssertEqual(parse("0000-01-01T00:00:00Z"), -62_167_219_200_000)
        XCTAssertEqual(parse("9999-12-31T23:59:59.999Z"), Timestamp.year9999EndMillis)
        XCTAssertEqual(parse("9999-12-31T23:59:59.999Z"), 253_402_300_799_999)
        XCTAssertEqual(parse("0000-01-01T00:00:00+01:00"), Timestamp.year0Millis - 3_600_000)
    }

    func testLeapSecondIsClampedTo59() {
        XCTAssertEqual(parse("2016-12-31T23:59:60Z"), parse("2016-12-31T23:59:59Z"))
        XCTAssertEqual(parse("2016-12-31T23:59:60.5Z"), parse("2016-12-31T23:59:59.5Z"))
        XCTAssertNil(parse("2016-12-31T23:59:61Z"))
    }

    func testInvalidFormsAreRejected() {
        let invalid = [
            "", "2026", "2026-11-23", "2026-11-23T10:00Z", "2026-11-23T10:00:00", "2026-11-23T10:00:00+0100",
            "2026-11-23T10:00:00+01", "2026-11-23T10:00:00+1:00", "2026-11-23T10:00:00.Z", "2026-11-23T10:00:00,5Z",
            "2026-11-23T24:00:00Z", "2026-11-23T10:60:00Z", "2026-11-23T10:00:00ZZ", " 2026-11-23T10:00:00Z",
            "2026-11-23T10:00:00Z ", "2026/11/23T10:00:00Z", "2026-11-23X10:00:00Z", "26-11-23T10:00:00Z",
            "+2026-11-23T10:00:00Z", "2026-1-23T10:00:00Z", "2026-11-23T10:00:00+01:60", "２026-11-23T10:00:00Z",
            "2026-11-23T10:00:00UTC", "2026-11-23T-1:00:00Z", "2026-11-23T10:00:00.12a3Z", "2026-11-23T10:00:00.1",
        ]
        for s in invalid {
            XCTAssertNil(parse(s), s)
        }
    }

    func testRawBufferOverloadParsesASliceWithoutCopy() {
        let bytes = Array("xx2026-11-23T10:00:00Zyy".utf8)
        let value = bytes.withUnsafeBytes { Timestamp.parseRFC3339(UnsafeRawBufferPointer(rebasing: $0[2..<22])) }
        XCTAssertEqual(value, parse("2026-11-23T10:00:00Z"))
    }

    func testParsingAgreesWithFoundation() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        for s in ["2026-11-23T10:00:00Z", "1999-12-31T23:59:59+05:45", "2024-02-29T12:34:56-08:00", "1970-01-01T00:00:01Z"] {
            let expected = EpochMillis((f.date(from: s)!.timeIntervalSince1970 * 1000).rounded())
            XCTAssertEqual(parse(s), expected, s)
        }
    }

    // MARK: Formatting

    func testFormatsKnownInstantsLikeFoundation() {
        let instants: [EpochMillis] = [
            0, 1, 999, 1000, -1, -1000, 1_795_428_000_000, 1_795_428_000_123, 951_782_400_000, 1_709_164_800_000,
            4_102_444_799_999, 946_684_799_500, 86_400_000 * 365 * 30 + 12_345, -86_400_001,
        ]
        for ms in instants {
            XCTAssertEqual(Timestamp.formatRFC3339(ms), foundationFormat(ms), "\(ms)")
        }
    }

    func testFormatsExamplesFromTheSpecification() {
        XCTAssertEqual(Timestamp.formatRFC3339(1_795_428_000_000), "2026-11-23T10:00:00Z")
        XCTAssertEqual(Timestamp.formatRFC3339(1_795_428_000_123), "2026-11-23T10:00:00.123Z")
        XCTAssertEqual(Timestamp.formatRFC3339(1_795_428_000_005), "2026-11-23T10:00:00.005Z")
        XCTAssertEqual(Timestamp.formatRFC3339(Timestamp.year0Millis), "0000-01-01T00:00:00Z")
        XCTAssertEqual(Timestamp.formatRFC3339(Timestamp.year9999EndMillis), "9999-12-31T23:59:59.999Z")
        XCTAssertEqual(Timestamp.formatRFC3339(Timestamp.year0Millis - 1), "-0001-12-31T23:59:59.999Z")
    }

    func testFormatThenParseRoundTrips() {
        var rng = SystemRandomNumberGenerator()
        var samples: [EpochMillis] = [Timestamp.year0Millis, Timestamp.year9999EndMillis, 0, -1, 951_782_400_000]
        for _ in 0..<2000 { samples.append(EpochMillis.random(in: Timestamp.year0Millis...Timestamp.year9999EndMillis, using: &rng)) }
        for ms in samples {
            let s = Timestamp.formatRFC3339(ms)
            XCTAssertEqual(parse(s), ms, s)
        }
    }

    func testCivilDayArithmeticRoundTripsOverTheWholeRange() {
        var days = Timestamp.daysFromCivil(year: 0, month: 1, day: 1)
        let last = Timestamp.daysFromCivil(year: 9999, month: 12, day: 31)
        XCTAssertEqual(days, -719_528)
        while days <= last {
            let (y, m, d) = Timestamp.civilFromDays(days)
            XCTAssertEqual(Timestamp.daysFromCivil(year: y, month: m, day: d), days)
            days += 97 // a prime-ish stride that visits every month and day-of-month pattern
        }
    }

    // MARK: Epoch numbers

    func testFromEpochNumberAcceptsFiniteMillisecondsAndTruncatesFractions() {
        XCTAssertEqual(Timestamp.fromEpochNumber(1_795_428_000_000), 1_795_428_000_000)
        XCTAssertEqual(Timestamp.fromEpochNumber(1_795_428_000_000.9), 1_795_428_000_000)
        XCTAssertEqual(Timestamp.fromEpochNumber(-1.5), -1)
        XCTAssertEqual(Timestamp.fromEpochNumber(-0.0), 0)
        XCTAssertEqual(Timestamp.fromEpochNumber(253_402_300_799_999), 253_402_300_799_999)
        XCTAssertEqual(Timestamp.fromEpochNumber(-253_402_300_799_999), -253_402_300_799_999)
    }

    func testFromEpochNumberRejectsNonFiniteAndOutOfRangeValues() {
        XCTAssertNil(Timestamp.fromEpochNumber(.nan))
        XCTAssertNil(Timestamp.fromEpochNumber(.infinity))
        XCTAssertNil(Timestamp.fromEpochNumber(-.infinity))
        XCTAssertNil(Timestamp.fromEpochNumber(253_402_300_800_000))
        XCTAssertNil(Timestamp.fromEpochNumber(-253_402_300_800_000))
        XCTAssertNil(Timestamp.fromEpochNumber(1e300))
    }
}
