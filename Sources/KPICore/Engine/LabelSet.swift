/// One group-by value of a label set, owned (copied out of the decoder's memory).
public enum LabelValue: Sendable, Hashable {
    case string([UInt8])
    case number(Double)
    case bool(Bool)
    /// The field was absent or JSON null.
    case null

    /// Copies a decoded field value.
    public init(_ f: FieldValue) {
        switch f.kind {
        case .string: self = .string(Array(f.string))
        case .number: self = .number(f.number == 0 ? 0 : f.number)
        case .bool: self = .bool(f.number != 0)
        case .null, .absent: self = .null
        }
    }

    /// True when the decoded field `f` is this value; no allocation.
    @inline(__always)
    public func matches(_ f: FieldValue) -> Bool {
        switch (self, f.kind) {
        case (.string(let s), .string):
            guard s.count == f.string.count else { return false }
            return s.withUnsafeBytes { b in b.count == 0 || memcmpBytes(b.baseAddress!, f.string.baseAddress!, b.count) == 0 }
        case (.number(let d), .number): return d == f.number
        case (.bool(let b), .bool): return b == (f.number != 0)
        case (.null, .null), (.null, .absent): return true
        default: return false
        }
    }

    /// The label as text: strings as they are, integral numbers without a fraction
    /// (`200`), other numbers in shortest round-trip form (`0.25`), booleans `true`/`false`;
    /// nil for null.
    public var text: String? {
        switch self {
        case .string(let s): return String(decoding: s, as: UTF8.self)
        case .number(let d): return LabelValue.format(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return nil
        }
    }

    /// Formats a number the way labels show it.
    public static func format(_ d: Double) -> String {
        guard d.isFinite, d.rounded() == d else { return "\(d)" }
        if abs(d) < 9.223_372_036_854_775_807e18 { return String(Int64(d)) }
        return exactIntegerDigits(d)
    }

    /// The exact decimal digits of an integral double of magnitude 2⁶³ or more (such a double is
    /// an integer mantissa times a power of two, so its value has a finite decimal expansion).
    static func exactIntegerDigits(_ d: Double) -> String {
        var digits: [UInt8] = [0] // little-endian base-10 digits
        func multiply(by m: UInt32, add: UInt32 = 0) {
            var carry = add
            for i in digits.indices {
                let v = UInt32(digits[i]) * m + carry
                digits[i] = UInt8(v % 10)
                carry = v / 10
            }
            while carry > 0 { digits.append(UInt8(carry % 10)); carry /= 10 }
        }
        let mantissa = d.significandBitPattern | (1 << 52)
        for bit in stride(from: 52, through: 0, by: -1) {
            multiply(by: 2, add: UInt32((mantissa >> UInt64(bit)) & 1))
        }
        for _ in 0..<(Int(d.exponent) - 52) { multiply(by: 2) }
        while digits.count > 1, digits.last == 0 { digits.removeLast() }
        return (d < 0 ? "-" : "") + String(digits.reversed().map { Character(String($0)) })
    }
}

/// Canonical JSON for label sets: an object with keys sorted by their UTF-8 bytes, string values
/// (or `null`), no whitespace, and only `"`, `\\` and control characters escaped. `{}` when
/// there are no labels. Two equal label sets always give byte-identical JSON.
public enum CanonicalLabels {
    /// The canonical JSON of `names[i] = values[i]`.
    public static func json(names: [String], values: [LabelValue]) -> String {
        let pairs = zip(names, values).sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        var out = "{"
        for (i, (k, v)) in pairs.enumerated() {
            if i > 0 { out += "," }
            out += quote(k)
            out += ":"
            if let t = v.text { out += quote(t) } else { out += "null" }
        }
        return out + "}"
    }

    /// The canonical JSON of a dictionary of string labels.
    public static func json(_ labels: [String: String]) -> String {
        let names = Array(labels.keys)
        return json(names: names, values: names.map { .string(Array(labels[$0]!.utf8)) })
    }

    /// A JSON string literal for `s`.
    public static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
