extension CanonicalLabels {
    /// The unescaped UTF-8 bytes of the JSON string literal starting at `b[start]` (a quote),
    /// and the index just past its closing quote; nil when there is no well-formed string there.
    static func readJSONString(_ b: [UInt8], at start: Int) -> (bytes: [UInt8], end: Int)? {
        guard start < b.count, b[start] == UInt8(ascii: "\"") else { return nil }
        var i = start + 1
        var bytes: [UInt8] = []
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { return (bytes, i + 1) }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < b.count else { return nil }
                let e = b[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "u"):
                    guard i + 4 <= b.count, let v = UInt32(String(decoding: b[i..<(i + 4)], as: UTF8.self), radix: 16),
                          let s = Unicode.Scalar(v) else { return nil }
                    bytes.append(contentsOf: Array(String(Character(s)).utf8))
                    i += 4
                default: bytes.append(e)
                }
            } else {
                bytes.append(c)
                i += 1
            }
        }
        return nil
    }
}
