extension CanonicalLabels {
    /// The labels of a canonical label JSON object (flat, string or null values; null reads as
    /// ""), or nil when `json` is not such an object. Allocates the dictionary and its strings.
    public static func parse(_ json: String) -> [String: String]? {
        var out: [String: String] = [:]
        let b = Array(json.utf8)
        var i = 0
        func skip() { while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x09 || b[i] == 0x0D { i += 1 } }
        func string() -> String? {
            guard let (bytes, end) = readJSONString(b, at: i) else { return nil }
            i = end
            return String(decoding: bytes, as: UTF8.self)
        }
        skip()
        guard i < b.count, b[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        skip()
        if i < b.count, b[i] == UInt8(ascii: "}") { return out }
        while true {
            skip()
            guard let k = string() else { return nil }
            skip()
            guard i < b.count, b[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skip()
            if i + 4 <= b.count, b[i] == UInt8(ascii: "n"), b[i + 1] == UInt8(ascii: "u") {
                i += 4
                out[k] = ""
            } else {
                guard let v = string() else { return nil }
                out[k] = v
            }
            skip()
            guard i < b.count else { return nil }
            if b[i] == UInt8(ascii: ",") { i += 1; continue }
            if b[i] == UInt8(ascii: "}") { return out }
            return nil
        }
    }
}
