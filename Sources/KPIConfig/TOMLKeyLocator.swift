/// Finds the line of every key in a TOML document, because TOMLKit keeps no source positions.
///
/// Paths are dotted, with array indices: `kpid.time_zone`, `metrics[2].aggregate`,
/// `sources[0].bind[1]`. Each `[table]` and `[[array]]` element is recorded at its header line
/// (`kpid`, `metrics[2]`); the first element of an array of tables also records the array
/// (`metrics`). Keys inside inline tables and elements of arrays are recorded where they
/// start (`sources[0].bind[1]`, `a.inline.key`). Multi-line strings and arrays are skipped
/// as values: only their first line counts.
///
/// A key segment that is not a bare key (letters, digits, `_`, `-`) appears quoted in paths:
/// `kpid."odd key"` (see ``segment(_:)``).
///
/// The scanner is forgiving: it expects a document TOMLKit has already accepted, and on
/// anything it does not understand it skips to the next line.
public struct TOMLKeyLocator: Sendable {
    /// Line (1-based) of each path, first occurrence.
    public private(set) var lines: [String: Int] = [:]

    public init(_ text: String) {
        var scanner = Scanner(bytes: Array(text.utf8))
        scanner.run()
        lines = scanner.lines
    }

    /// The line of `path`, or nil when the document does not spell it out.
    public func line(of path: String) -> Int? { lines[path] }

    /// The line of `path`, or of its closest recorded ancestor (`metrics[2].name` falls back
    /// to the `[[metrics]]` header of element 2, then to `metrics`).
    public func nearestLine(of path: String) -> Int? {
        var p = Substring(path)
        while !p.isEmpty {
            if let l = lines[String(p)] { return l }
            p = Self.parent(of: p)
        }
        return nil
    }

    static func parent(of path: Substring) -> Substring {
        // Strip a trailing "[n]" or ".segment" (a quoted segment may contain dots or brackets).
        if path.hasSuffix("]"), let open = path.lastIndex(of: "[") {
            return path[..<open]
        }
        var inQuotes = false
        var lastDot: Substring.Index?
        var i = path.startIndex
        while i < path.endIndex {
            let c = path[i]
            if c == "\\" && inQuotes {
                i = path.index(after: i)
                if i < path.endIndex { i = path.index(after: i) }
                continue
            }
            if c == "\"" { inQuotes.toggle() }
            if c == "." && !inQuotes { lastDot = i }
            i = path.index(after: i)
        }
        if let d = lastDot { return path[..<d] }
        return ""
    }

    /// A key as a path segment: bare keys as they are, anything else in double quotes.
    public static func segment(_ key: String) -> String {
        let bare = !key.isEmpty && key.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
        }
        if bare { return key }
        var out = "\""
        for c in key.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }

    /// `prefix.key`, or `key` at the root.
    public static func join(_ prefix: String, _ key: String) -> String {
        prefix.isEmpty ? segment(key) : prefix + "." + segment(key)
    }
}

private struct Scanner {
    let bytes: [UInt8]
    var i = 0
    var line = 1
    var lines: [String: Int] = [:]
    /// Number of elements so far of each array of tables, by resolved path.
    var arrayCounts: [String: Int] = [:]
    /// Resolved path of the current table ("" for the root).
    var table = ""

    init(bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { i >= bytes.count }
    var c: UInt8 { bytes[i] }

    func peek(_ k: Int) -> UInt8? { i + k < bytes.count ? bytes[i + k] : nil }

    mutating func record(_ path: String, line: Int) {
        if lines[path] == nil { lines[path] = line }
    }

    mutating func advance() {
        if bytes[i] == UInt8(ascii: "\n") { line += 1 }
        i += 1
    }

    /// Spaces and tabs only.
    mutating func skipBlanks() {
        while !atEnd, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { i += 1 }
    }

    /// Blanks, newlines and comments.
    mutating func skipTrivia() {
        while !atEnd {
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "\n"): advance()
            case UInt8(ascii: "#"): skipToEndOfLine()
            default: return
            }
        }
    }

    mutating func skipToEndOfLine() {
        while !atEnd, c != UInt8(ascii: "\n") { i += 1 }
    }

    mutating func run() {
        while true {
            skipTrivia()
            if atEnd { return }
            let start = i
            let startLine = line
            if c == UInt8(ascii: "[") {
                header()
            } else {
                keyValue(prefix: table)
            }
            // Whatever follows on the line (a comment, or something we did not understand).
            skipBlanks()
            if !atEnd, c != UInt8(ascii: "\n") {
                skipToEndOfLine()
            }
            if i == start && line == startLine { skipToEndOfLine() }
        }
    }

    mutating func header() {
        let headerLine = line
        let isArray = peek(1) == UInt8(ascii: "[")
        i += isArray ? 2 : 1
        skipBlanks()
        guard let keys = keyPath() else { return }
        skipBlanks()
        guard !atEnd, c == UInt8(ascii: "]") else { return }
        i += 1
        if isArray {
            guard !atEnd, c == UInt8(ascii: "]") else { return }
            i += 1
        }
        // Resolve every segment but the last through the arrays of tables seen so far:
        // [metrics.x] after [[metrics]] means the last metrics element.
        var path = ""
        for (n, key) in keys.enumerated() {
            path = TOMLKeyLocator.join(path, key)
            let isLast = n == keys.count - 1
            if isLast && isArray {
                let index = arrayCounts[path, default: 0]
                arrayCounts[path] = index + 1
                record(path, line: headerLine)
                path += "[\(index)]"
            } else if let count = arrayCounts[path], count > 0 {
                path += "[\(count - 1)]"
            }
        }
        record(path, line: headerLine)
        table = path
    }

    /// `key = value` at the current position; records `prefix.key` and what the value holds.
    mutating func keyValue(prefix: String) {
        let keyLine = line
        guard let keys = keyPath() else { return }
        skipBlanks()
        guard !atEnd, c == UInt8(ascii: "=") else { return }
        i += 1
        skipBlanks()
        var path = prefix
        for key in keys {
            path = TOMLKeyLocator.join(path, key)
            record(path, line: keyLine)
        }
        value(path: path)
    }

    /// Dotted key: `a`, `a.b`, `"quoted key".c`, `'literal'`.
    mutating func keyPath() -> [String]? {
        var keys: [String] = []
        while true {
            skipBlanks()
            guard !atEnd else { return nil }
            if c == UInt8(ascii: "\"") {
                guard let s = basicString() else { return nil }
                keys.append(s)
            } else if c == UInt8(ascii: "'") {
                guard let s = literalString() else { return nil }
                keys.append(s)
            } else {
                let start = i
                while !atEnd, isBareKeyByte(c) { i += 1 }
                if i == start { return nil }
                keys.append(String(decoding: bytes[start..<i], as: UTF8.self))
            }
            skipBlanks()
            if !atEnd, c == UInt8(ascii: ".") {
                i += 1
                continue
            }
            return keys
        }
    }

    func isBareKeyByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
    }

    /// Skips a value, recording array elements and inline-table keys under `path`.
    mutating func value(path: String) {
        guard !atEnd else { return }
        switch c {
        case UInt8(ascii: "\""):
            if peek(1) == UInt8(ascii: "\""), peek(2) == UInt8(ascii: "\"") {
                multiLineString(quote: UInt8(ascii: "\""))
            } else {
                _ = basicString()
            }
        case UInt8(ascii: "'"):
            if peek(1) == UInt8(ascii: "'"), peek(2) == UInt8(ascii: "'") {
                multiLineString(quote: UInt8(ascii: "'"))
            } else {
                _ = literalString()
            }
        case UInt8(ascii: "["):
            array(path: path)
        case UInt8(ascii: "{"):
            inlineTable(path: path)
        default:
            // Numbers, booleans, dates: up to a delimiter. Date-times may contain a space.
            while !atEnd {
                switch c {
                case UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: "#"),
                     UInt8(ascii: "\n"), UInt8(ascii: "\r"):
                    return
                default:
                    i += 1
                }
            }
        }
    }

    mutating func array(path: String) {
        i += 1  // [
        var index = 0
        while true {
            skipTrivia()
            if atEnd { return }
            if c == UInt8(ascii: "]") { i += 1; return }
            let element = path + "[\(index)]"
            record(element, line: line)
            let before = i
            value(path: element)
            skipTrivia()
            if atEnd { return }
            if c == UInt8(ascii: ",") {
                i += 1
                index += 1
                continue
            }
            if c == UInt8(ascii: "]") { i += 1; return }
            if i == before { return }  // not understood: give up on this value
            return
        }
    }

    mutating func inlineTable(path: String) {
        i += 1  // {
        while true {
            skipTrivia()
            if atEnd { return }
            if c == UInt8(ascii: "}") { i += 1; return }
            let before = i
            keyValue(prefix: path)
            skipTrivia()
            if atEnd { return }
            if c == UInt8(ascii: ",") { i += 1; continue }
            if c == UInt8(ascii: "}") { i += 1; return }
            if i == before { return }
            return
        }
    }

    /// A "basic string" on one line; returns its (unescaped, approximately) contents.
    mutating func basicString() -> String? {
        i += 1
        var out: [UInt8] = []
        while !atEnd {
            let b = c
            if b == UInt8(ascii: "\n") { return nil }
            if b == UInt8(ascii: "\"") { i += 1; return String(decoding: out, as: UTF8.self) }
            if b == UInt8(ascii: "\\"), let e = peek(1) {
                i += 2
                switch e {
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "u") ? 4 : 8
                    guard i + n <= bytes.count,
                          let v = UInt32(String(decoding: bytes[i..<i + n], as: UTF8.self), radix: 16),
                          let scalar = Unicode.Scalar(v) else { return nil }
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    i += n
                default: out.append(e)
                }
                continue
            }
            out.append(b)
            i += 1
        }
        return nil
    }

    mutating func literalString() -> String? {
        i += 1
        let start = i
        while !atEnd {
            if c == UInt8(ascii: "\n") { return nil }
            if c == UInt8(ascii: "'") {
                let s = String(decoding: bytes[start..<i], as: UTF8.self)
                i += 1
                return s
            }
            i += 1
        }
        return nil
    }

    /// `"""..."""` or `'''...'''`, which may span lines and end with up to two extra quotes.
    mutating func multiLineString(quote: UInt8) {
        i += 3
        while !atEnd {
            if quote == UInt8(ascii: "\""), c == UInt8(ascii: "\\") {
                advance()
                if !atEnd { advance() }
                continue
            }
            if c == quote, peek(1) == quote, peek(2) == quote {
                i += 3
                // """a""""" : up to two more quotes belong to the content.
                var extra = 0
                while extra < 2, !atEnd, c == quote { i += 1; extra += 1 }
                return
            }
            advance()
        }
    }
}
