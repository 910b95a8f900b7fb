/// The small template language of alert labels and annotations, compiled at config load.
///
///     "{{ labels.retailer }} success {{ value | percent }}"
///
/// A `{{ … }}` holds a variable and optional filters separated by `|`:
/// - variables: `value`, `threshold`, `labels.NAME`, `alertname`, `severity`, `metric`, `period`,
///   `samples`;
/// - filters: `percent` (×100 with a `%`, 2 decimals at most), `percent(N)`, `round(N)`,
///   `humanize` (1.2k, 3.4M), `upper`, `lower`, `default("text")`.
///
/// Everything else is literal text; `{{` cannot be escaped. Compilation fails with the column
/// of the error, so that a mistake is a config error and not a 3 a.m. surprise. Rendering
/// never fails: a missing label renders as the empty string (or its `default`).
public struct AlertTemplate: Sendable, Equatable, CustomStringConvertible {
    public enum Variable: Sendable, Equatable {
        case value, threshold, label(String), alertname, severity, metric, period, samples
    }

    public enum Filter: Sendable, Equatable {
        case percent(Int), round(Int), humanize, upper, lower, defaultText(String)
    }

    enum Part: Sendable, Equatable {
        case text(String)
        case expression(Variable, [Filter])
    }

    let parts: [Part]
    /// The source text.
    public let description: String

    /// A compile error: what is wrong, and the 1-based column in the template text.
    public struct CompileError: Error, Sendable, Equatable, CustomStringConvertible {
        public var message: String
        public var column: Int
        public var description: String { "column \(column): \(message)" }
    }

    /// Compiles `text`; throws ``CompileError``.
    public init(_ text: String) throws(CompileError) {
        description = text
        var parts: [Part] = []
        let chars = Array(text)
        var i = 0
        var literal = ""
        while i < chars.count {
            if chars[i] == "{", i + 1 < chars.count, chars[i + 1] == "{" {
                guard let close = Self.find("}}", in: chars, from: i + 2) else {
                    throw CompileError(message: "'{{' is not closed by '}}'", column: i + 1)
                }
                if !literal.isEmpty { parts.append(.text(literal)); literal = "" }
                let inner = String(chars[(i + 2)..<close])
                parts.append(try Self.expression(inner, column: i + 3))
                i = close + 2
            } else if chars[i] == "}", i + 1 < chars.count, chars[i + 1] == "}" {
                throw CompileError(message: "'}}' without an opening '{{'", column: i + 1)
            } else {
                literal.append(chars[i])
                i += 1
            }
        }
        if !literal.isEmpty { parts.append(.text(literal)) }
        self.parts = parts
    }

    static func find(_ needle: String, in chars: [Character], from: Int) -> Int? {
        let n = Array(needle)
        var i = from
        while i + n.count <= chars.count {
            if Array(chars[i..<(i + n.count)]) == n { return i }
            i += 1
        }
        return nil
    }

    static func expression(_ inner: String, column: Int) throws(CompileError) -> Part {
        let pieces = inner.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingSpaces }
        let head = pieces[0]
        let variable: Variable
        switch head {
        case "": throw CompileError(message: "empty '{{ }}'", column: column)
        case "value": variable = .value
        case "threshold": variable = .threshold
        case "alertname", "rule": variable = .alertname
        case "severity": variable = .severity
        case "metric": variable = .metric
        case "period": variable = .period
        case "samples": variable = .samples
        default:
            if head.hasPrefix("labels."), head.count > 7 {
                variable = .label(String(head.dropFirst(7)))
            } else {
                throw CompileError(
                    message: "unknown variable '\(head)' (known: value, threshold, labels.NAME, alertname, severity, metric, period, samples)",
                    column: column)
            }
        }
        var filters: [Filter] = []
        for p in pieces.dropFirst() {
            filters.append(try filter(p, column: column))
        }
        return .expression(variable, filters)
    }

    static func filter(_ p: String, column: Int) throws(CompileError) -> Filter {
        var name = p
        var argument: String?
        if let open = p.firstIndex(of: "(") {
            guard p.hasSuffix(")") else { throw CompileError(message: "filter '\(p)' misses ')'", column: column) }
            name = String(p[..<open]).trimmingSpaces
            argument = String(p[p.index(after: open)..<p.index(before: p.endIndex)]).trimmingSpaces
        }
        func digits() throws(CompileError) -> Int? {
            guard let a = argument else { return nil }
            guard let n = Int(a), n >= 0, n <= 9 else {
                throw CompileError(message: "filter '\(name)' takes a number of decimals 0…9, not '\(a)'", column: column)
            }
            return n
        }
        switch name {
        case "percent": return .percent(try digits() ?? 2)
        case "round": return .round(try digits() ?? 0)
        case "humanize", "upper", "lower":
            if argument != nil { throw CompileError(message: "filter '\(name)' takes no argument", column: column) }
            return name == "humanize" ? .humanize : name == "upper" ? .upper : .lower
        case "default":
            guard let a = argument, a.count >= 2, a.hasPrefix("\""), a.hasSuffix("\"") else {
                throw CompileError(message: "filter 'default' takes a quoted text, e.g. default(\"none\")", column: column)
            }
            return .defaultText(String(a.dropFirst().dropLast()))
        case "":
            throw CompileError(message: "empty filter after '|'", column: column)
        default:
            throw CompileError(message: "unknown filter '\(name)' (known: percent, round, humanize, upper, lower, default)",
                               column: column)
        }
    }

    /// What a template is rendered with.
    public struct Context {
        public var value: Double?
        public var threshold: Double?
        public var labels: [String: String]
        public var alertname: String
        public var severity: String
        public var metric: String
        public var period: String
        public var samples: Int64
        public init(value: Double?, threshold: Double?, labels: [String: String], alertname: String, severity: String,
                    metric: String, period: String, samples: Int64) {
            self.value = value
            self.threshold = threshold
            self.labels = labels
            self.alertname = alertname
            self.severity = severity
            self.metric = metric
            self.period = period
            self.samples = samples
        }
    }

    /// The rendered text.
    public func render(_ c: Context) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .expression(let v, let filters):
                var number: Double?
                var text: String?
                switch v {
                case .value: number = c.value
                case .threshold: number = c.threshold
                case .samples: number = Double(c.samples)
                case .label(let n): text = c.labels[n]
                case .alertname: text = c.alertname
                case .severity: text = c.severity
                case .metric: text = c.metric
                case .period: text = c.period
                }
                for f in filters {
                    switch f {
                    case .percent(let d):
                        if let n = number ?? text.flatMap(Double.init) { text = NumberText.fixed(n * 100, decimals: d) + "%"; number = nil }
                    case .round(let d):
                        if let n = number ?? text.flatMap(Double.init) { text = NumberText.fixed(n, decimals: d); number = nil }
                    case .humanize:
                        if let n = number ?? text.flatMap(Double.init) { text = NumberText.humanize(n); number = nil }
                    case .upper: text = (text ?? number.map(NumberText.shortest))?.uppercased(); number = nil
                    case .lower: text = (text ?? number.map(NumberText.shortest))?.lowercased(); number = nil
                    case .defaultText(let d):
                        if number == nil, (text ?? "").isEmpty { text = d }
                    }
                }
                out += number.map(NumberText.shortest) ?? text ?? ""
            }
        }
        return out
    }
}

/// Number formatting for templates and subjects, without Foundation.
public enum NumberText {
    /// `x` rounded to `decimals`, trailing zeros dropped: `fixed(0.8049, 2)` is `"0.8"`.
    public static func fixed(_ x: Double, decimals: Int) -> String {
        guard x.isFinite else { return x.isNaN ? "NaN" : (x < 0 ? "-Inf" : "+Inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(x) * scale).rounded()
        guard scaled < 9e15 else { return shortest(x) }
        let n = UInt64(scaled), s = UInt64(scale)
        var out = (x < 0 && n != 0 ? "-" : "") + String(n / s)
        if decimals > 0 {
            var frac = String(n % s)
            frac = String(repeating: "0", count: decimals - frac.count) + frac
            while frac.hasSuffix("0") { frac.removeLast() }
            if !frac.isEmpty { out += "." + frac }
        }
        return out
    }

    /// Integers without a fraction, other values with up to 6 decimals.
    public static func shortest(_ x: Double) -> String {
        if x.isFinite, x == x.rounded(), abs(x) < 9e15 { return String(Int64(x)) }
        return fixed(x, decimals: abs(x) >= 1e-3 ? 6 : 9)
    }

    /// 1234 → `1.23k`, 5_600_000 → `5.6M`.
    public static func humanize(_ x: Double) -> String {
        let units = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (size, name) in units where abs(x) >= size { return fixed(x / size, decimals: 2) + name }
        return fixed(x, decimals: 2)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}

extension Substring {
    var trimmingSpaces: String { String(self).trimmingSpaces }
}
