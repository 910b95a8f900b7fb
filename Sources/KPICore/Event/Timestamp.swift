/// RFC 3339 timestamps and epoch-millisecond numbers, without Foundation and without allocation
/// (except ``formatRFC3339(_:)``, which returns a `String`).
///
/// Calendar arithmetic is proleptic Gregorian, UTC, using Howard Hinnant's days-from-civil
/// algorithms (http://howardhinnant.github.io/date_algorithms.html).
public enum Timestamp {
    /// 0000-01-01T00:00:00Z in epoch milliseconds: the earliest instant `parseRFC3339(_:)`
    /// yields for a UTC timestamp.
    public static let year0Millis: EpochMillis = -62_167_219_200_000
    /// 9999-12-31T23:59:59.999Z in epoch milliseconds.
    public static let year9999EndMillis: EpochMillis = 253_402_300_799_999

    // MARK: Parsing

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` into epoch milliseconds (UTC).
    ///
    /// - `T` may be `t` or a space; `Z` may be `z`.
    /// - The fraction may have any number of digits (at least one); it is truncated to milliseconds.
    /// - Ranges are validated: month 1–12, day within the month (leap years included), hour < 24,
    ///   minute < 60, second ≤ 60 (a leap second `60` is clamped to `59`), offset hours < 24 and
    ///   minutes < 60. Years 0000–9999 are accepted; the caller decides what is plausible.
    /// - Nothing else is accepted: no surrounding whitespace, no missing seconds, no basic format.
    ///
    /// Cost: a single pass over at most a few dozen bytes; no allocation.
    public static func parseRFC3339(_ bytes: UnsafeRawBufferPointer) -> EpochMillis? {
        let n = bytes.count
        guard n >= 20 else { return nil }

        // Two ASCII digits at i, or -1.
        @inline(__always) func two(_ i: Int) -> Int64 {
            let a = bytes[i] &- 48, b = bytes[i + 1] &- 48
            return (a < 10 && b < 10) ? Int64(a) * 10 + Int64(b) : -1
        }

        let y1 = two(0), y2 = two(2)
        guard y1 >= 0, y2 >= 0, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
        else { return nil }
        let sep = bytes[10]
        guard sep == UInt8(ascii: "T") || sep == UInt8(ascii: "t") || sep == UInt8(ascii: " ") else { return nil }
        let year = y1 * 100 + y2
        let month = two(5), day = two(8), hour = two(11), minute = two(14)
        var second = two(17)
        guard month >= 1, month <= 12, day >= 1, day <= daysInMonth(year: year, month: month),
              hour >= 0, hour < 24, minute >= 0, minute < 60, second >= 0, second <= 60
        else { return nil }
        if second == 60 { second = 59 }

        var i = 19
        var millis: Int64 = 0
        if bytes[i] == UInt8(ascii: ".") {
            i += 1
            var digits = 0
            while i < n {
                let d = bytes[i] &- 48
                guard d < 10 else { break }
                if digits < 3 { millis = millis * 10 + Int64(d) }
                digits += 1
                i += 1
            }
            guard digits > 0 else { return nil }
            if digits == 1 { millis *= 100 } else if digits == 2 { millis *= 10 }
        }

        guard i < n else { return nil }
        var offsetMinutes: Int64 = 0
        let z = bytes[i]
        if z == UInt8(ascii: "Z") || z == UInt8(ascii: "z") {
            i += 1
        } else if z == UInt8(ascii: "+") || z == UInt8(ascii: "-") {
            guard n - i >= 6, bytes[i + 3] == UInt8(ascii: ":") else { return nil }
            let oh = two(i + 1), om = two(i + 4)
            guard oh >= 0, oh < 24, om >= 0, om < 60 else { return nil }
            offsetMinutes = oh * 60 + om
            if z == UInt8(ascii: "-") { offsetMinutes = -offsetMinutes }
            i += 6
        } else {
            return nil
        }
        guard i == n else { return nil }

        let days = daysFromCivil(year: year, month: month, day: day)
        let secondsOfDay = (hour * 60 + minute) * 60 + second
        return (days * 86_400 + secondsOfDay) * 1000 + millis - offsetMinutes * 60_000
    }

    /// Parses an RFC 3339 timestamp held in a `String`; see `parseRFC3339(_:)`.
    /// Convenience for configuration and tests (may copy a non-contiguous string).
    public static func parseRFC3339(_ string: String) -> EpochMillis? {
        var string = string
        return string.withUTF8 { parseRFC3339(UnsafeRawBufferPointer($0)) }
    }

    /// Epoch milliseconds given as a JSON number: must be finite; fractions are truncated toward
    /// zero; the magnitude must not exceed ``year9999EndMillis`` (so years -9999…9999 in
    /// milliseconds). Returns nil otherwise. No allocation.
    public static func fromEpochNumber(_ d: Double) -> EpochMillis? {
        guard d.isFinite else { return nil }
        let t = d.rounded(.towardZero)
        guard t.magnitude <= Double(year9999EndMillis) else { return nil }
        return EpochMillis(t)
    }

    // MARK: Formatting

    /// Formats epoch milliseconds as RFC 3339 in UTC: `2026-11-23T10:00:00Z`, or
    /// `2026-11-23T10:00:00.123Z` when the millisecond part is not zero. Years outside 0000–9999
    /// are written with a sign and/or more digits (`-0001-…`, `10000-…`). Allocates the string.
    public static func formatRFC3339(_ millis: EpochMillis) -> String {
        let (days, msOfDay) = floorDivMod(millis, 86_400_000)
        let (year, month, day) = civilFromDays(days)
        let ms = msOfDay % 1000
        let secondsOfDay = msOfDay / 1000
        let hour = secondsOfDay / 3600, minute = (secondsOfDay / 60) % 60, second = secondsOfDay % 60

        return String(unsafeUninitializedCapacity: 48) { buffer in
            var i = 0
            func put(_ byte: UInt8) { buffer[i] = byte; i += 1 }
            func putDigits(_ value: Int64, width: Int) { // value >= 0
                var count = 1
                var t = value
                while t >= 10 { t /= 10; count += 1 }
                let length = Swift.max(count, width)
                var v = value
                var k = i + length - 1
                while k >= i { buffer[k] = UInt8(48 + v % 10); v /= 10; k -= 1 }
                i += length
            }
            if year < 0 { put(UInt8(ascii: "-")) }
            putDigits(year < 0 ? -year : year, width: 4)
            put(UInt8(ascii: "-")); putDigits(month, width: 2)
            put(UInt8(ascii: "-")); putDigits(day, width: 2)
            put(UInt8(ascii: "T")); putDigits(hour, width: 2)
            put(UInt8(ascii: ":")); putDigits(minute, width: 2)
            put(UInt8(ascii: ":")); putDigits(second, width: 2)
            if ms != 0 { put(UInt8(ascii: ".")); putDigits(ms, width: 3) }
            put(UInt8(ascii: "Z"))
            return i
        }
    }

    // MARK: Calendar arithmetic

    /// Whether `year` is a Gregorian leap year.
    @inlinable
    public static func isLeapYear(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    /// Days in `month` (1–12) of `year`.
    @inlinable
    public static func daysInMonth(year: Int64, month: Int64) -> Int64 {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day` (Hinnant's
    /// `days_from_civil`). Month 1–12, day 1–31.
    @inlinable
    public static func daysFromCivil(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400                                            // [0, 399]
        let mp = month > 2 ? month - 3 : month + 9                         // March = 0
        let doy = (153 * mp + 2) / 5 + day - 1                             // [0, 365]
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy                    // [0, 146096]
        return era * 146_097 + doe - 719_468
    }

    /// The proleptic Gregorian date of `days` since 1970-01-01 (Hinnant's `civil_from_days`).
    @inlinable
    public static func civilFromDays(_ days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097                                        // [0, 146096]
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365  // [0, 399]
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)                  // [0, 365]
        let mp = (5 * doy + 2) / 153                                       // [0, 11]
        let day = doy - (153 * mp + 2) / 5 + 1                             // [1, 31]
        let month = mp < 10 ? mp + 3 : mp - 9                              // [1, 12]
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    @usableFromInline
    static func floorDivMod(_ a: Int64, _ b: Int64) -> (Int64, Int64) {
        var q = a / b
        var r = a % b
        if r < 0 { q -= 1; r += b }
        return (q, r)
    }
}
