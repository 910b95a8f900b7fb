import KPICore
import TOMLKit

extension ConfigKeys {
    /// Keys of a derived `[[metrics]]` entry (one with `expr`).
    static let derivedMetric = ["name", "expr", "windows", "group_by", "time_zone"]
    /// Keys of a plain metric that a derived one must not have.
    static let notDerived = ["events", "pipeline", "filter", "aggregate"]
}

/// A derived `[[metrics]]` entry as read, before its operands are resolved.
struct DerivedEntry {
    var index: Int
    var name: String
    var expr: DerivedExpr
    /// `windows`, `group_by` and `time_zone` when the entry states them (they must then match the
    /// operands').
    var windows: [CalendarPeriod]?
    var groupBy: [String]?
    var timeZone: String?
    var prefix: String { "metrics[\(index)]" }
}

/// `ratio(a, b)`, `percent(a, b)`, `difference(a, b)`, `change(x)`, `delta(x)`, `share(x)`.
enum DerivedExprSyntax {
    static let forms = "ratio(a, b), percent(a, b), difference(a, b), change(x), delta(x), share(x)"
    static let functions = ["ratio", "percent", "difference", "change", "delta", "share"]

    /// The expression, or a message and hint. Operands are metric names.
    static func parse(_ raw: String) -> Result<DerivedExpr, AggregateSyntaxError> {
        let text = raw.trimmingSpaces
        guard let open = text.firstIndex(of: "("), text.hasSuffix(")") else {
            return .failure(AggregateSyntaxError(message: "invalid expr \(quoted(raw))", hint: "one of \(forms)"))
        }
        let fn = String(text[..<open]).trimmingSpaces
        guard functions.contains(fn) else {
            let guess = Suggest.closest(fn.lowercased(), in: functions).map { "did you mean \($0)? " } ?? ""
            return .failure(AggregateSyntaxError(message: "unknown function \(quoted(fn)) in expr \(quoted(raw))",
                                                 hint: guess + "one of \(forms)"))
        }
        let inner = text[text.index(after: open)..<text.index(before: text.endIndex)]
        let args = inner.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        let arity = ["change", "delta", "share"].contains(fn) ? 1 : 2
        guard args.count == arity, args.allSatisfy({ !$0.isEmpty }) else {
            let example = arity == 1 ? "\(fn)(bookings)" : "\(fn)(bookings_ok, booking_attempts)"
            return .failure(AggregateSyntaxError(
                message: "\(fn) takes \(arity == 1 ? "one metric" : "two metrics"), found \(quoted(raw))",
                hint: "e.g. \(example)"))
        }
        if let bad = args.first(where: { !ConfigCompiler.isMetricName($0) }) {
            return .failure(AggregateSyntaxError(
                message: "invalid operand \(quoted(bad)) in expr \(quoted(raw))",
                hint: "operands are metric names: \(ConfigCompiler.metricNameRule)"))
        }
        switch fn {
        case "ratio": return .success(.ratio(args[0], args[1]))
        case "percent": return .success(.percent(args[0], args[1]))
        case "difference": return .success(.difference(args[0], args[1]))
        case "change": return .success(.change(args[0]))
        case "share": return .success(.share(args[0]))
        default: return .success(.delta(args[0]))
        }
    }
}

extension DerivedMetricDefinition {
    /// The metric as alert rules check it (name, windows, labels); it reads no events.
    var alertShape: MetricDefinition {
        MetricDefinition(name: name, events: [], aggregate: .count, groupBy: groupBy, windows: windows, timeZone: timeZone)
    }
}

extension ConfigCompiler {
    /// A metric's `name`: present, well formed, not reserved and not taken by an earlier metric
    /// (plain or derived); reports what is wrong.
    mutating func metricName(_ t: TOMLTable, prefix: String, names: inout [String: Int]) -> Read<String> {
        let name = string(t, "name", prefix: prefix)
        switch name {
        case .absent:
            fail("\(prefix).name", "missing name", hint: "every metric needs a name, e.g. name = \"http_5xx\"")
        case .invalid: break
        case .value(let n):
            let key = "\(prefix).name"
            if !Self.isMetricName(n) {
                fail(key, "invalid metric name \(quoted(n)): use \(Self.metricNameRule)",
                     hint: Self.suggestedMetricName(n).map { "e.g. name = \(quoted($0))" })
                return .invalid
            } else if n.hasPrefix(QualificationHealth.reservedPrefix) {
                fail(key, "metric names starting with \(quoted(QualificationHealth.reservedPrefix)) are reserved for kpid's own metrics",
                     hint: "e.g. name = \(quoted(String(n.dropFirst(QualificationHealth.reservedPrefix.count))))")
                return .invalid
            } else if let first = names[n] {
                fail(key, "duplicate metric name \(quoted(n)) (first defined at line \(first))",
                     hint: "give each metric its own name")
                return .invalid
            } else {
                names[n] = locator.nearestLine(of: key) ?? 0
            }
        }
        return name
    }

    /// Reads a `[[metrics]]` entry with `expr`; its operands are resolved later, once every
    /// metric is known (``resolveDerived(_:metrics:declared:globalZone:)``).
    mutating func derivedMetric(_ t: TOMLTable, index i: Int, names: inout [String: Int]) -> DerivedEntry? {
        let prefix = "metrics[\(i)]"
        checkKeys(t, allowed: ConfigKeys.derivedMetric + ConfigKeys.notDerived, prefix: prefix)
        var ok = true
        for key in ConfigKeys.notDerived where t[key] != nil {
            fail("\(prefix).\(key)", "a derived metric (one with expr) takes no \(key): it computes from its operands' rows",
                 hint: "remove \(key), or remove expr to make a plain metric")
            ok = false
        }
        let name = metricName(t, prefix: prefix, names: &names)
        if name.value == nil { ok = false }

        var expr: DerivedExpr?
        if let text = string(t, "expr", prefix: prefix).value {
            switch DerivedExprSyntax.parse(text) {
            case .success(let e): expr = e
            case .failure(let e): fail("\(prefix).expr", e.message, hint: e.hint); ok = false
            }
        } else {
            ok = false
        }

        var windows: [CalendarPeriod]?
        switch stringList(t, "windows", prefix: prefix) {
        case .absent: break
        case .invalid: ok = false
        case .value(let list):
            var out: [CalendarPeriod] = []
            for (j, w) in list.enumerated() {
                guard let p = CalendarPeriod(rawValue: w) else {
                    fail("\(prefix).windows[\(j)]", "unknown window period \(quoted(w))",
                         hint: "one of \(CalendarPeriod.allCases.map(\.rawValue).joined(separator: ", "))")
                    ok = false
                    continue
                }
                if !out.contains(p) { out.append(p) }
            }
            windows = out
        }
        let groupBy = stringList(t, "group_by", prefix: prefix)
        if groupBy.isInvalid { ok = false }
        let zone = timeZone(t, "time_zone", prefix: prefix)
        if zone.isInvalid { ok = false }

        guard ok, let n = name.value, let e = expr else { return nil }
        return DerivedEntry(index: i, name: n, expr: e, windows: windows, groupBy: groupBy.value, timeZone: zone.value)
    }

    /// What a derived metric inherits: its operands' windows, labels and zone.
    struct DerivedShape: Equatable {
        var windows: [CalendarPeriod]
        var groupBy: [String]
        /// The zone as configured (nil: the global one).
        var timeZone: String?
        /// The zone windows are computed in.
        var effectiveZone: String

        func sameWindows(_ o: DerivedShape) -> Bool { Set(windows) == Set(o.windows) }
        func sameLabels(_ o: DerivedShape) -> Bool { Set(groupBy) == Set(o.groupBy) }
    }

    /// Resolves the operands of the derived entries: each must name a metric (plain or derived),
    /// the operands of one expression must share windows, group_by and zone, and derived metrics
    /// must not form a cycle. Returns the definitions in dependency order. `declared` holds every
    /// metric name seen, so an operand naming a metric that failed to compile is not reported
    /// twice.
    mutating func resolveDerived(_ entries: [DerivedEntry], metrics: [MetricDefinition], declared: [String: Int],
                                 globalZone: String) -> [DerivedMetricDefinition] {
        var plain: [String: DerivedShape] = [:]
        for m in metrics {
            plain[m.name] = DerivedShape(windows: m.windows, groupBy: m.groupBy, timeZone: m.timeZone,
                                         effectiveZone: m.timeZone ?? globalZone)
        }
        var byName: [String: DerivedEntry] = [:]
        for e in entries { byName[e.name] = e }
        var shapes: [String: DerivedShape] = [:]
        var failed: Set<String> = []
        var out: [DerivedMetricDefinition] = []
        for e in entries {
            var path: [String] = []
            _ = resolve(e.name, byName: byName, plain: plain, declared: declared, globalZone: globalZone,
                        shapes: &shapes, failed: &failed, path: &path, out: &out)
        }
        return out
    }

    private mutating func resolve(_ name: String, byName: [String: DerivedEntry], plain: [String: DerivedShape],
                                  declared: [String: Int], globalZone: String, shapes: inout [String: DerivedShape],
                                  failed: inout Set<String>, path: inout [String],
                                  out: inout [DerivedMetricDefinition]) -> DerivedShape? {
        if let s = plain[name] ?? shapes[name] { return s }
        guard let e = byName[name], !failed.contains(name) else { return nil }
        let exprKey = "\(e.prefix).expr"
        if let at = path.firstIndex(of: name) {
            let cycle = (path[at...] + [name]).joined(separator: " → ")
            fail(exprKey, "derived metrics form a cycle: \(cycle)", hint: "a derived metric cannot read itself, directly or not")
            for n in path[at...] { failed.insert(n) }
            return nil
        }
        path.append(name)
        defer { path.removeLast() }
        var operandShapes: [(String, DerivedShape)] = []
        var ok = true
        for op in e.expr.operands {
            if plain[op] == nil && byName[op] == nil {
                if declared[op] == nil {
                    let known = Array(plain.keys).sorted() + byName.keys.filter { $0 != name }.sorted()
                    let guess = Suggest.closest(op, in: known).map { "did you mean \(quoted($0))? " } ?? ""
                    fail(exprKey, "unknown metric \(quoted(op)) in expr \(quoted(e.expr.configText))",
                         hint: guess + "operands are the names of other [[metrics]] entries")
                }
                ok = false
                continue
            }
            guard let s = resolve(op, byName: byName, plain: plain, declared: declared, globalZone: globalZone,
                                  shapes: &shapes, failed: &failed, path: &path, out: &out) else {
                ok = false
                continue
            }
            operandShapes.append((op, s))
        }
        guard ok, let head = operandShapes.first, !failed.contains(name) else {
            failed.insert(name)
            return nil
        }
        let (first, shape) = head
        func list<T>(_ xs: [T], _ f: (T) -> String) -> String { "[" + xs.map(f).joined(separator: ", ") + "]" }
        for (op, s) in operandShapes.dropFirst() {
            var what: String?
            if !s.sameWindows(shape) {
                what = "windows: \(first) has \(list(shape.windows, \.rawValue)), \(op) has \(list(s.windows, \.rawValue))"
            } else if !s.sameLabels(shape) {
                what = "group_by: \(first) has \(list(shape.groupBy, quoted)), \(op) has \(list(s.groupBy, quoted))"
            } else if s.effectiveZone != shape.effectiveZone {
                what = "time_zone: \(first) is in \(shape.effectiveZone), \(op) in \(s.effectiveZone)"
            }
            if let what {
                fail(exprKey, "the operands of \(e.expr.configText) disagree on \(what)",
                     hint: "a derived metric combines rows of the same window and labels: give its operands the same windows, group_by and time_zone")
                failed.insert(name)
                return nil
            }
        }
        if let w = e.windows, Set(w) != Set(shape.windows) {
            fail("\(e.prefix).windows", "windows \(list(w, \.rawValue)) do not match the operands' windows \(list(shape.windows, \.rawValue))",
                 hint: "remove windows: a derived metric inherits its operands' windows")
            ok = false
        }
        if let g = e.groupBy, Set(g) != Set(shape.groupBy) {
            fail("\(e.prefix).group_by", "group_by \(list(g, quoted)) does not match the operands' group_by \(list(shape.groupBy, quoted))",
                 hint: "remove group_by: a derived metric inherits its operands' labels")
            ok = false
        }
        if let z = e.timeZone, z != shape.effectiveZone {
            fail("\(e.prefix).time_zone", "time_zone \(quoted(z)) does not match the operands' zone \(quoted(shape.effectiveZone))",
                 hint: "remove time_zone: a derived metric inherits its operands' zone")
            ok = false
        }
        guard ok else {
            failed.insert(name)
            return nil
        }
        shapes[name] = shape
        out.append(DerivedMetricDefinition(name: name, expr: e.expr, windows: shape.windows, groupBy: shape.groupBy,
                                           timeZone: shape.timeZone))
        return shape
    }
}
