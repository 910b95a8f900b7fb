/// The extra label of a quantile row: `"quantile":"0.95"`.
///
/// A `quantile(f, 0.5, 0.95)` metric stores one row per quantile under its own name, each with
/// this label added to its group's labels. The quantile is written in its shortest decimal form
/// (`0.5`, `0.95`, `0.99`, `1`), as label numbers are.
public enum QuantileLabel {
    /// The label name. A quantile metric may not group by a field of this name.
    public static let name = "quantile"

    /// The label value of quantile `q`.
    public static func text(_ q: Double) -> String { LabelValue.format(q) }
}

extension CanonicalLabels {
    /// The canonical label JSON `json` with `name: value` added in its sorted place. `json` must
    /// be canonical (as ``json(names:values:)`` writes it) and must not hold `name` already.
    public static func inserting(_ name: String, _ value: String, into json: String) -> String {
        let b = Array(json.utf8)
        let key = Array(name.utf8)
        let entry = Array((quote(name) + ":" + quote(value)).utf8)
        guard b.count >= 2, b.first == UInt8(ascii: "{") else { return json }
        var i = 1
        // Each entry is "key":"value" or "key":null; find the first key sorting after `name`.
        while i < b.count, b[i] != UInt8(ascii: "}") {
            let entryStart = i
            let (k, afterKey) = unescapedString(b, from: i)
            if key.lexicographicallyPrecedes(k) {
                var out = Array(b[..<entryStart])
                out += entry
                out.append(UInt8(ascii: ","))
                out += b[entryStart...]
                return String(decoding: out, as: UTF8.self)
            }
            i = afterKey + 1 // the colon
            if i < b.count, b[i] == UInt8(ascii: "\"") {
                i = unescapedString(b, from: i).end
            } else {
                while i < b.count, b[i] != UInt8(ascii: ","), b[i] != UInt8(ascii: "}") { i += 1 }
            }
            if i < b.count, b[i] == UInt8(ascii: ",") { i += 1 }
        }
        var out = Array(b[..<i])
        if i > 1 { out.append(UInt8(ascii: ",")) }
        out += entry
        out += b[i...]
        return String(decoding: out, as: UTF8.self)
    }

    /// The bytes of the JSON string starting at `b[start]` (a quote), unescaped, and the index
    /// just past its closing quote.
    private static func unescapedString(_ b: [UInt8], from start: Int) -> (bytes: [UInt8], end: Int) {
        var out: [UInt8] = []
        var i = start + 1
        while i < b.count, b[i] != UInt8(ascii: "\"") {
            if b[i] == UInt8(ascii: "\\"), i + 1 < b.count {
                i += 1
                switch b[i] {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"):
                    // Only control characters are escaped this way: \u00XX.
                    if i + 4 < b.count, let v = UInt8(String(decoding: b[(i + 3)...(i + 4)], as: UTF8.self), radix: 16) {
                        out.append(v)
                    }
                    i += 4
                default: out.append(b[i])
                }
            } else {
                out.append(b[i])
            }
            i += 1
        }
        return (out, i + 1)
    }
}
