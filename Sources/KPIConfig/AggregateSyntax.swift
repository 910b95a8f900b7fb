import KPICore

extension AggregateSpec {
    /// The aggregate as `kpid.toml` writes it: `count`, `sum(latency_ms)`, `distinct(user)`.
    public var configText: String {
        switch self {
        case .count: return "count"
        case .sum(let f): return "sum(\(AggregateSyntax.formatField(f)))"
        case .min(let f): return "min(\(AggregateSyntax.formatField(f)))"
        case .max(let f): return "max(\(AggregateSyntax.formatField(f)))"
        case .avg(let f): return "avg(\(AggregateSyntax.formatField(f)))"
        case .distinct(let f): return "distinct(\(AggregateSyntax.formatField(f)))"
        case .quantile(let f, let qs):
            if qs == [0.5] { return "median(\(AggregateSyntax.formatField(f)))" }
            return "quantile(\(([AggregateSyntax.formatField(f)] + qs.map(QuantileLabel.text)).joined(separator: ", ")))"
        }
    }

    /// Reads ``configText``; nil when `configText` is not an aggregate.
    public init?(configText: String) {
        guard case .success(let spec) = AggregateSyntax.parse(configText) else { return nil }
        self = spec
    }
}

/// Why an aggregate does not parse.
struct AggregateSyntaxError: Error {
    var message: String
    var hint: String?
}

enum AggregateSyntax {
    static let forms = "count, sum(field), min(field), max(field), avg(field), distinct(field), quantile(field, 0.5, 0.95, ...), median(field)"
    static let names = ["count", "sum", "min", "max", "avg", "distinct", "quantile", "median"]

    static func formatField(_ f: String) -> String {
        FilterExpr.formatField(f)
    }

    /// `count` | `sum(f)` | `min(f)` | `max(f)` | `avg(f)` | `distinct(f)`; the field is a bare
    /// filter field name or backtick-quoted. Function names are case-insensitive.
    static func parse(_ raw: String) -> Result<AggregateSpec, AggregateSyntaxError> {
        let text = raw.trimmingSpaces
        let unknown = AggregateSyntaxError(message: "unknown aggregate \(quoted(raw))", hint: "one of \(forms)")
        let name: String
        var field: String?
        if let open = text.firstIndex(of: "(") {
            guard text.hasSuffix(")") else { return .failure(unknown) }
            name = String(text[..<open]).trimmingSpaces.lowercased()
            let inner = String(text[text.index(after: open)..<text.index(before: text.endIndex)]).trimmingSpaces
            field = inner
        } else {
            name = text.lowercased()
        }
        guard names.contains(name) else {
            var e = unknown
            if let guess = Suggest.closest(name, in: names) {
                e.hint = "did you mean \(guess == "count" ? "count" : guess + "(field)")? one of \(forms)"
            } else if name == "average" || name == "mean" {
                e.hint = "did you mean avg(field)? one of \(forms)"
            }
            return .failure(e)
        }
        if name == "count" {
            if let f = field, !f.isEmpty {
                return .failure(AggregateSyntaxError(message: "count takes no field (found \(quoted(raw)))",
                                                     hint: "write \"count\", or \"distinct(\(f))\" to count distinct values"))
            }
            return .success(.count)
        }
        guard let inner = field, !inner.isEmpty else {
            let example = name == "quantile" ? "quantile(latency_ms, 0.5, 0.95)" : "\(name)(latency_ms)"
            let form = name == "quantile" ? "quantile(field, q1, q2, ...)" : "\(name)(field)"
            return .failure(AggregateSyntaxError(message: "\(name) needs a field (found \(quoted(raw)))",
                                                 hint: "write \"\(form)\", e.g. \"\(example)\""))
        }
        if name == "quantile" { return parseQuantile(inner, raw: raw) }
        guard let f = fieldName(inner) else {
            return .failure(AggregateSyntaxError(
                message: "invalid field name \(quoted(inner)) in aggregate \(quoted(raw))",
                hint: "a field is letters, digits, '_', '.' and '-', starting with a letter or '_'; quote others with backticks"))
        }
        switch name {
        case "sum": return .success(.sum(f))
        case "min": return .success(.min(f))
        case "max": return .success(.max(f))
        case "avg": return .success(.avg(f))
        case "median": return .success(.quantile(f, [0.5]))
        default: return .success(.distinct(f))
        }
    }

    /// The arguments of `quantile(field, q1, q2, ...)`: a field, then at least one quantile in
    /// `(0, 1]`, without repeats; kept in ascending order.
    static func parseQuantile(_ inner: String, raw: String) -> Result<AggregateSpec, AggregateSyntaxError> {
        let form = "write \"quantile(field, q1, q2, ...)\" with each q in (0, 1], e.g. \"quantile(latency_ms, 0.5, 0.95, 0.99)\""
        // The field ends at the first comma, or after its closing backtick when quoted.
        var fieldText = inner, rest = ""
        if inner.hasPrefix("`") {
            var chars = Array(inner.dropFirst())
            var k = 0
            var end: Int?
            while k < chars.count {
                if chars[k] == "`" {
                    if k + 1 < chars.count, chars[k + 1] == "`" { k += 2; continue }
                    end = k
                    break
                }
                k += 1
            }
            if let end {
                fieldText = "`" + String(chars[...end])
                chars = Array(chars[(end + 1)...])
                let after = String(chars).trimmingSpaces
                if !after.isEmpty {
                    guard after.hasPrefix(",") else {
                        return .failure(AggregateSyntaxError(message: "expected ',' after the field in \(quoted(raw))", hint: form))
                    }
                    rest = String(after.dropFirst())
                }
            }
        } else if let comma = inner.firstIndex(of: ",") {
            fieldText = String(inner[..<comma]).trimmingSpaces
            rest = String(inner[inner.index(after: comma)...])
        }
        if let number = Double(fieldText), number.isFinite {
            return .failure(AggregateSyntaxError(message: "quantile needs a field first, found the number \(fieldText) in \(quoted(raw))",
                                                 hint: form))
        }
        guard let f = fieldName(fieldText) else {
            return .failure(AggregateSyntaxError(
                message: "invalid field name \(quoted(fieldText)) in aggregate \(quoted(raw))",
                hint: "a field is letters, digits, '_', '.' and '-', starting with a letter or '_'; quote others with backticks"))
        }
        let parts = rest.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        if rest.trimmingSpaces.isEmpty {
            return .failure(AggregateSyntaxError(message: "quantile needs at least one quantile after the field (found \(quoted(raw)))",
                                                 hint: "e.g. \"quantile(\(formatField(f)), 0.95)\", or \"median(\(formatField(f)))\""))
        }
        var qs: [Double] = []
        for p in parts {
            guard let q = Double(p), q.isFinite else {
                return .failure(AggregateSyntaxError(message: "quantile \(quoted(p)) is not a number in \(quoted(raw))", hint: form))
            }
            guard q > 0, q <= 1 else {
                var hint = "each quantile is in (0, 1]"
                if q > 1, q <= 100 { hint += "; for a percentile write \(QuantileLabel.text(q / 100))" }
                return .failure(AggregateSyntaxError(message: "quantile \(p) is out of range in \(quoted(raw))", hint: hint))
            }
            if qs.contains(q) {
                return .failure(AggregateSyntaxError(message: "quantile \(p) is listed twice in \(quoted(raw))", hint: form))
            }
            qs.append(q)
        }
        return .success(.quantile(f, qs.sorted()))
    }

    /// A field name as in filters: bare, or between backticks (a backtick inside written twice).
    static func fieldName(_ text: String) -> String? {
        if text.count >= 3, text.hasPrefix("`"), text.hasSuffix("`") {
            let body = Array(text.dropFirst().dropLast())
            var out = ""
            var k = 0
            while k < body.count {
                if body[k] == "`" {
                    guard k + 1 < body.count, body[k + 1] == "`" else { return nil }
                    k += 1
                }
                out.append(body[k])
                k += 1
            }
            return out
        }
        return isBareField(text) ? text : nil
    }

    static func isBareField(_ text: String) -> Bool {
        guard let first = text.first, first == "_" || first.isLetter else { return false }
        return text.allSatisfy { $0 == "_" || $0 == "." || $0 == "-" || $0.isLetter || $0.isNumber }
    }
}

/// `"text"` with quotes and backslashes escaped, for messages.
func quoted(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        default: out.unicodeScalars.append(c)
        }
    }
    return out + "\""
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}

/// "Did you mean" by edit distance.
enum Suggest {
    /// Optimal-string-alignment distance (insertions, deletions, substitutions, transpositions),
    /// case-insensitive.
    static func distance(_ a: String, _ b: String) -> Int {
        let x = Array(a.lowercased()), y = Array(b.lowercased())
        if x.isEmpty { return y.count }
        if y.isEmpty { return x.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: y.count + 1), count: x.count + 1)
        for i in 0...x.count { d[i][0] = i }
        for j in 0...y.count { d[0][j] = j }
        for i in 1...x.count {
            for j in 1...y.count {
                let cost = x[i - 1] == y[j - 1] ? 0 : 1
                d[i][j] = Swift.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, x[i - 1] == y[j - 2], x[i - 2] == y[j - 1] {
                    d[i][j] = Swift.min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[x.count][y.count]
    }

    /// The closest candidate, when it is close enough to be a likely typo.
    static func closest(_ word: String, in candidates: [String]) -> String? {
        guard !word.isEmpty else { return nil }
        let limit = word.count <= 3 ? 1 : Swift.max(2, Swift.min(4, word.count / 3))
        var best: (String, Int)?
        for c in candidates {
            let d = distance(word, c)
            if d <= limit, best == nil || d < best!.1 { best = (c, d) }
        }
        if let best { return best.0 }
        // "group" for "group_by", "interval" for "flush_interval".
        let lower = word.lowercased()
        if lower.count >= 4 {
            return candidates.first { $0.lowercased().hasPrefix(lower) || $0.lowercased().hasSuffix(lower) }
        }
        return nil
    }
}
