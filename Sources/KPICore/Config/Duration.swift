/// Durations as written in `kpid.toml`: an integer followed by a unit, optionally repeated.
///
///     "250ms"   "30s"   "1m"   "1h30m"   "2d"   "1w"
///
/// Units are `ms`, `s`, `m`, `h`, `d` (24 hours) and `w` (7 days). A bare number is not a
/// duration (`"30"` could mean anything); neither is a negative or fractional one.
public enum DurationParser {
    /// The units, largest first, with their length in milliseconds.
    public static let units: [(name: String, millis: Int64)] = [
        ("w", 604_800_000),
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ]

    /// The duration in milliseconds, or nil when `text` is not a duration.
    ///
    /// Whitespace around the text and between parts is ignored (`"1h 30m"`). The result is
    /// nil on overflow, on an empty string and on a number without a unit.
    public static func millis(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        var i = 0
        var total: Int64 = 0
        var parts = 0

        func skipSpaces() {
            while i < bytes.count, bytes[i] == UInt8(ascii: " ") || bytes[i] == UInt8(ascii: "\t") { i += 1 }
        }

        skipSpaces()
        while i < bytes.count {
            // The number.
            var value: Int64 = 0
            let digitsStart = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                let digit = Int64(bytes[i] - UInt8(ascii: "0"))
                let (times10, o1) = value.multipliedReportingOverflow(by: 10)
                let (sum, o2) = times10.addingReportingOverflow(digit)
                if o1 || o2 { return nil }
                value = sum
                i += 1
            }
            if i == digitsStart { return nil }
            // The unit.
            var unitMillis: Int64
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "m"):
                if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "s") {
                    unitMillis = 1
                    i += 2
                } else {
                    unitMillis = 60_000
                    i += 1
                }
            case UInt8(ascii: "s"): unitMillis = 1_000; i += 1
            case UInt8(ascii: "h"): unitMillis = 3_600_000; i += 1
            case UInt8(ascii: "d"): unitMillis = 86_400_000; i += 1
            case UInt8(ascii: "w"): unitMillis = 604_800_000; i += 1
            default: return nil
            }
            // A unit is a whole word: "5min" or "5sec" are not durations.
            if i < bytes.count, (bytes[i] >= UInt8(ascii: "a") && bytes[i] <= UInt8(ascii: "z"))
                || (bytes[i] >= UInt8(ascii: "A") && bytes[i] <= UInt8(ascii: "Z")) {
                return nil
            }
            let (part, o3) = value.multipliedReportingOverflow(by: unitMillis)
            let (sum, o4) = total.addingReportingOverflow(part)
            if o3 || o4 { return nil }
            total = sum
            parts += 1
            skipSpaces()
        }
        return parts > 0 ? total : nil
    }

    /// The shortest text that ``millis(_:)`` reads back as `millis`: `90_000` gives `"1m30s"`,
    /// `0` gives `"0s"`, `1_500` gives `"1s500ms"`. Negative values get a leading `-`
    /// (which ``millis(_:)`` does not accept).
    public static func format(_ millis: Int64) -> String {
        if millis == 0 { return "0s" }
        var rest = millis.magnitude
        var out = millis < 0 ? "-" : ""
        for unit in units where rest >= UInt64(unit.millis) {
            let size = UInt64(unit.millis)
            out += "\(rest / size)\(unit.name)"
            rest %= size
        }
        return out
    }
}
