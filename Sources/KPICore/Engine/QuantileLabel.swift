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
            guard let (k, afterKey) = readJSONString(b, at: i) else { return json }
            if key.lexicographicallyPrecedes(k) {
                var out = Array(b[..<entryStart])
                out += entry
                out.append(UInt8(ascii: ","))
                out += b[entryStart...]
                return String(decoding: out, as: UTF8.self)
            }
            i = afterKey + 1 // past the colon
            if i < b.count, b[i] == UInt8(ascii: "\"") {
                guard let (_, end) = readJSONString(b, at: i) else { return json }
                i = end
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
}
