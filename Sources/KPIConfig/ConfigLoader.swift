import Foundation
import KPICore
import TOMLKit

/// Loads `kpid.toml` into a ``KpidConfig``, or explains, by key and line, why it cannot.
///
/// The document is checked as a whole: ``diagnose(_:file:)`` returns every error found,
/// ordered by line; ``parse(_:file:)`` and ``load(contentsOf:)`` throw the first of them.
public enum ConfigLoader {
    /// Reads and compiles the file at `path`.
    public static func load(contentsOf path: String) throws(ConfigError) -> KpidConfig {
        let text = try read(path)
        return try parse(text, file: path)
    }

    /// Compiles the text of a `kpid.toml`; `file` only names it in errors.
    public static func parse(_ text: String, file: String? = nil) throws(ConfigError) -> KpidConfig {
        let result = diagnose(text, file: file)
        if let first = result.errors.first { throw first }
        return result.config!
    }

    /// Every error of the document, ordered by line (errors without a line last), and the
    /// config when there are none.
    public static func diagnose(_ text: String, file: String? = nil) -> (config: KpidConfig?, errors: [ConfigError]) {
        var compiler = ConfigCompiler(text: text, file: file)
        let config = compiler.compile()
        let errors = compiler.sortedErrors
        return (errors.isEmpty ? config : nil, errors)
    }

    /// ``diagnose(_:file:)`` for the file at `path`.
    public static func diagnose(contentsOf path: String) -> (config: KpidConfig?, errors: [ConfigError]) {
        do throws(ConfigError) {
            return diagnose(try read(path), file: path)
        } catch {
            return (nil, [error])
        }
    }

    static func read(_ path: String) throws(ConfigError) -> String {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            let reason = (error as NSError).localizedDescription
            throw ConfigError(key: "", line: nil, message: "cannot read the configuration: \(reason)", file: path)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(key: "", line: nil, message: "the configuration is not valid UTF-8", file: path)
        }
        return text
    }
}

// MARK: - Keys of each table

enum ConfigKeys {
    static let root = ["kpid", "storage", "retention", "status", "limits", "sources", "pipelines", "metrics", "publishers",
                       "alerting", "receivers", "alerts", "journal"]
    static let kpid = ["time_zone", "allowed_lateness", "flush_interval", "max_future", "unlisted_publishers",
                       "track_sequences", "max_label_sets", "distinct_exact_max", "decode_ahead"]
    static let storage = ["path", "reject_samples_per_reason"]
    static let status = ["enabled", "listen"]
    static let limits = ["max_message_bytes", "max_events_per_frame", "max_fields_per_event", "max_field_bytes",
                         "reject_sample_bytes"]
    static let source = ["name", "kind", "bind", "connect", "subscribe", "receive_hwm", "journal"]
    static let metric = ["name", "events", "pipeline", "filter", "aggregate", "group_by", "windows", "time_zone",
                         "rolling", "step", "max_label_sets", "distinct_exact_max"]
    static let endpointSchemes = ["tcp://", "ipc://", "inproc://", "pgm://", "epgm://"]
}

// MARK: - Compiler

/// The outcome of reading one value: not there, there but unusable (already reported), or usable.
enum Read<T> {
    case absent
    case invalid
    case value(T)

    var value: T? {
        if case .value(let v) = self { return v }
        return nil
    }
}

/// How a filter or aggregate uses a field, for the type conflict check.
struct FieldUse {
    enum Kind { case number, string }
    var field: String
    var kind: Kind
    var metric: Int
    var key: String
    var line: Int
    /// The piece of config that uses the field, for the message: `sum(latency)`, `status >= 500`.
    var text: String
}

struct ConfigCompiler {
    let text: String
    let file: String?
    var locator: TOMLKeyLocator
    var errors: [ConfigError] = []

    init(text: String, file: String?) {
        self.text = text
        self.file = file
        self.locator = TOMLKeyLocator(text)
    }

    var sortedErrors: [ConfigError] {
        errors.enumerated().sorted { a, b in
            switch (a.element.line, b.element.line) {
            case let (x?, y?): return x != y ? x < y : a.offset < b.offset
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.offset < b.offset
            }
        }.map(\.element)
    }

    mutating func fail(_ key: String, _ message: String, hint: String? = nil, line: Int? = nil) {
        errors.append(ConfigError(key: key, line: line ?? locator.nearestLine(of: key), message: message,
                                  hint: hint, file: file))
    }

    // MARK: Document

    mutating func compile() -> KpidConfig {
        var config = KpidConfig()

        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].reduce(1) { $1 == UInt8(ascii: "\n") ? $0 + 1 : $0 }
            errors.append(ConfigError(key: "", line: line, message: "the file contains a NUL character", file: file))
            return config
        }

        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let e as TOMLParseError {
            let line = e.source.begin.line
            let column = e.source.begin.column
            // toml++ says "Error while parsing key-value pair: expected value, saw '\n'".
            var detail = e.description
            let lead = "Error while parsing "
            if detail.hasPrefix(lead), let colon = detail.range(of: ": ") {
                let context = detail[detail.index(detail.startIndex, offsetBy: lead.count)..<colon.lowerBound]
                detail = "\(detail[colon.upperBound...]) (in a \(context))"
            }
            errors.append(ConfigError(key: "", line: line > 0 ? line : nil, column: column > 0 ? column : nil,
                                      message: "TOML syntax error at column \(column): \(detail)", file: file))
            return config
        } catch {
            errors.append(ConfigError(key: "", line: nil, message: "TOML syntax error: \(error)", file: file))
            return config
        }

        checkKeys(root, allowed: ConfigKeys.root, prefix: "")

        if let kpid = section(root, "kpid") {
            checkKeys(kpid, allowed: ConfigKeys.kpid, prefix: "kpid")
            if let zone = timeZone(kpid, "time_zone", prefix: "kpid").value { config.timeZone = zone }
            if let ms = duration(kpid, "allowed_lateness", prefix: "kpid").value { config.allowedLatenessMillis = ms }
            if let ms = duration(kpid, "flush_interval", prefix: "kpid", positive: true).value {
                config.flushIntervalMillis = ms
            }
            if let ms = duration(kpid, "max_future", prefix: "kpid").value { config.maxFutureMillis = ms }
            if let b = bool(kpid, "track_sequences", prefix: "kpid").value { config.trackSequences = b }
            if let b = bool(kpid, "decode_ahead", prefix: "kpid").value { config.decodeAhead = b }
            if let n = int(kpid, "max_label_sets", prefix: "kpid", min: 1).value { config.maxLabelSets = n }
            if let n = distinctExactMax(kpid, prefix: "kpid").value { config.distinctExactMax = n }
            config.unlistedPublishers = unlistedPublishers(kpid)
        }

        if let storage = section(root, "storage") {
            checkKeys(storage, allowed: ConfigKeys.storage, prefix: "storage")
            if let path = string(storage, "path", prefix: "storage", nonEmpty: true).value { config.storage.path = path }
            if let n = int(storage, "reject_samples_per_reason", prefix: "storage", min: 0).value {
                config.storage.rejectSamplesPerReason = n
            }
        }

        if let retention = section(root, "retention") {
            checkKeys(retention, allowed: RetentionConfig.periods, prefix: "retention")
            for period in RetentionConfig.periods {
                if retention[period]?.string?.trimmingSpaces == "forever" {
                    config.retention.keepMillis[period] = nil
                } else if let ms = duration(retention, period, prefix: "retention", positive: true).value {
                    config.retention.keepMillis[period] = ms
                }
            }
        }

        if let status = section(root, "status") {
            checkKeys(status, allowed: ConfigKeys.status, prefix: "status")
            if let b = bool(status, "enabled", prefix: "status").value { config.status.enabled = b }
            if let listen = string(status, "listen", prefix: "status", nonEmpty: true).value {
                if let (host, port) = Self.hostPort(listen) {
                    config.status.host = host
                    config.status.port = port
                } else {
                    fail("status.listen", "invalid listen address \(quoted(listen))",
                         hint: "host:port, e.g. \"127.0.0.1:9465\" or \"[::1]:9465\"; port 0 picks a free one")
                }
            }
        }

        if let limits = section(root, "limits") {
            checkKeys(limits, allowed: ConfigKeys.limits, prefix: "limits")
            if let n = int(limits, "max_message_bytes", prefix: "limits", min: 1).value { config.limits.maxMessageBytes = n }
            if let n = int(limits, "max_events_per_frame", prefix: "limits", min: 1).value {
                config.limits.maxEventsPerFrame = n
            }
            if let n = int(limits, "max_fields_per_event", prefix: "limits", min: 1).value {
                config.limits.maxFieldsPerEvent = n
            }
            if let n = int(limits, "max_field_bytes", prefix: "limits", min: 1).value { config.limits.maxFieldBytes = n }
            if let n = int(limits, "reject_sample_bytes", prefix: "limits", min: 0).value {
                config.limits.rejectSampleBytes = n
            }
        }

        journal(root, into: &config)

        switch tableArray(root, "sources") {
        case .absent:
            fail("sources", "no sources configured",
                 hint: "add a [[sources]] table with name, kind and bind or connect", line: nil)
        case .invalid: break
        case .value(let tables):
            if tables.isEmpty {
                fail("sources", "no sources configured",
                     hint: "add a [[sources]] table with name, kind and bind or connect")
            }
            var firstLineOfName: [String: Int] = [:]
            for (i, t) in tables.enumerated() {
                if let s = source(t, index: i, names: &firstLineOfName) { config.sources.append(s) }
            }
        }

        config.publishers = publishers(root, sources: config.sources)

        let pipelines = pipelines(root)
        config.pipelines = pipelines.valid

        switch tableArray(root, "metrics") {
        case .absent:
            fail("metrics", "no metrics configured",
                 hint: "add a [[metrics]] table with name, events, aggregate and windows", line: nil)
        case .invalid: break
        case .value(let tables):
            if tables.isEmpty {
                fail("metrics", "no metrics configured",
                     hint: "add a [[metrics]] table with name, events, aggregate and windows")
            }
            var firstLineOfName: [String: Int] = [:]
            var uses: [FieldUse] = []
            var compiled: [(index: Int, metric: MetricDefinition)] = []
            var derived: [DerivedEntry] = []
            for (i, t) in tables.enumerated() {
                // An entry with `expr` is a derived metric (ConfigLoader+Derived.swift).
                if t["expr"] != nil {
                    if let d = derivedMetric(t, index: i, names: &firstLineOfName) { derived.append(d) }
                    continue
                }
                if var m = metric(t, index: i, names: &firstLineOfName, uses: &uses, pipelines: pipelines) {
                    if !sketchKeys(t, prefix: "metrics[\(i)]", metric: &m, defaultExactMax: config.distinctExactMax) { continue }
                    compiled.append((i, m))
                    config.metrics.append(m)
                }
            }
            checkFieldTypes(uses: uses, metrics: compiled)
            config.derivedMetrics = resolveDerived(derived, metrics: config.metrics, declared: firstLineOfName,
                                                   globalZone: config.timeZone)
        }

        alerting(root, into: &config)

        return config
    }

    // MARK: Sources

    mutating func source(_ t: TOMLTable, index i: Int, names: inout [String: Int]) -> SourceConfig? {
        let prefix = "sources[\(i)]"
        checkKeys(t, allowed: ConfigKeys.source + ConfigKeys.sourceCurve, prefix: prefix)
        var ok = true

        let name = string(t, "name", prefix: prefix, nonEmpty: true)
        switch name {
        case .absent:
            fail("\(prefix).name", "missing name", hint: "every source needs a name, e.g. name = \"web\"")
            ok = false
        case .invalid: ok = false
        case .value(let n):
            let key = "\(prefix).name"
            if let first = names[n] {
                fail(key, "duplicate source name \(quoted(n)) (first defined at line \(first))",
                     hint: "give each source its own name")
                ok = false
            } else {
                names[n] = locator.nearestLine(of: key) ?? 0
            }
        }

        var kind: SourceKind?
        switch string(t, "kind", prefix: prefix) {
        case .absent:
            fail("\(prefix).kind", "missing kind", hint: "kind = \"sub\" (publishers PUB) or kind = \"pull\" (publishers PUSH)")
        case .invalid: break
        case .value(let k):
            if let parsed = SourceKind(rawValue: k) {
                kind = parsed
            } else {
                let hint: String
                switch k.lowercased() {
                case "pub": hint = "kpid subscribes to PUB publishers: write kind = \"sub\""
                case "push": hint = "kpid pulls from PUSH publishers: write kind = \"pull\""
                case "sub", "pull": hint = "write it in lower case: kind = \"\(k.lowercased())\""
                default: hint = "one of sub, pull"
                }
                fail("\(prefix).kind", "unknown source kind \(quoted(k))", hint: hint)
            }
        }

        let bind = endpoints(t, "bind", prefix: prefix)
        let connect = endpoints(t, "connect", prefix: prefix)
        if case .invalid = bind { ok = false }
        if case .invalid = connect { ok = false }
        let bindList = bind.value ?? []
        let connectList = connect.value ?? []
        let endpointsReadable = !(bind.isInvalid || connect.isInvalid)
        if endpointsReadable && bindList.isEmpty && connectList.isEmpty {
            let label = name.value.map { "source \(quoted($0))" } ?? "the source"
            fail(prefix, "\(label) has no endpoint",
                 hint: "add bind = [\"tcp://127.0.0.1:5555\"] or connect = [\"tcp://host:port\"]")
            ok = false
        }

        var subscribe: [String]? = nil
        switch stringList(t, "subscribe", prefix: prefix, allowEmptyStrings: true) {
        case .absent: break
        case .invalid: ok = false
        case .value(let list):
            if kind == .pull {
                fail("\(prefix).subscribe", "subscribe applies only to sub sources, this one is pull",
                     hint: "remove subscribe, or set kind = \"sub\"")
                ok = false
            } else if list.isEmpty {
                fail("\(prefix).subscribe", "an empty subscribe list receives nothing",
                     hint: "write subscribe = [\"\"] to receive every message")
                ok = false
            } else {
                subscribe = list
            }
        }

        let hwm = int(t, "receive_hwm", prefix: prefix, min: 0)
        if case .invalid = hwm { ok = false }

        let curve = curve(t, prefix: prefix)
        if curve.isInvalid { ok = false }
        let journal = bool(t, "journal", prefix: prefix)
        if journal.isInvalid { ok = false }

        guard ok, let n = name.value, let k = kind else { return nil }
        var s = SourceConfig(name: n, kind: k)
        s.curve = curve.value
        s.bind = bindList
        s.connect = connectList
        if let subscribe { s.subscribe = subscribe }
        if let h = hwm.value { s.receiveHighWaterMark = h }
        if let j = journal.value { s.journal = j }
        return s
    }

    mutating func endpoints(_ t: TOMLTable, _ key: String, prefix: String) -> Read<[String]> {
        let read = stringList(t, key, prefix: prefix)
        guard case .value(let list) = read else { return read }
        var ok = true
        for (j, e) in list.enumerated() {
            let scheme = ConfigKeys.endpointSchemes.first { e.lowercased().hasPrefix($0) }
            if scheme == nil {
                fail("\(prefix).\(key)[\(j)]",
                     "endpoint \(quoted(e)) must start with tcp://, ipc://, inproc://, pgm:// or epgm://",
                     hint: "e.g. \"tcp://127.0.0.1:5555\" or \"ipc:///run/kpid/events\"")
                ok = false
            } else if e.count == scheme!.count {
                fail("\(prefix).\(key)[\(j)]", "endpoint \(quoted(e)) has no address after \(scheme!)",
                     hint: "e.g. \"tcp://127.0.0.1:5555\"")
                ok = false
            }
        }
        return ok ? .value(list) : .invalid
    }

    // MARK: Metrics

    static let metricNameRule = "letters, digits and '_', not starting with a digit"

    static func isMetricName(_ s: String) -> Bool {
        guard let first = s.unicodeScalars.first else { return false }
        func letter(_ c: Unicode.Scalar) -> Bool { (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || c == "_" }
        return letter(first) && s.unicodeScalars.allSatisfy { letter($0) || ($0 >= "0" && $0 <= "9") }
    }

    mutating func metric(_ t: TOMLTable, index i: Int, names: inout [String: Int], uses: inout [FieldUse],
                         pipelines: (valid: [QualificationPipelineConfig], declared: Set<String>)) -> MetricDefinition? {
        let prefix = "metrics[\(i)]"
        checkKeys(t, allowed: ConfigKeys.metric, prefix: prefix)
        var ok = true

        let name = metricName(t, prefix: prefix, names: &names)
        if name.value == nil { ok = false }

        var events: [String] = []
        let pipeline = metricPipeline(t, prefix: prefix, pipelines: pipelines)
        if case .invalid = pipeline { ok = false }
        switch stringList(t, "events", prefix: prefix) {
        case .absent where pipeline.isAbsent:
            fail("\(prefix).events", "missing events",
                 hint: "name the event types to read, e.g. events = [\"http.request\"], or a qualification pipeline, e.g. pipeline = \"qualified_clicks\"")
            ok = false
        case .absent:
            events = pipeline.value?.events ?? []
        case .value where !pipeline.isAbsent:
            fail("\(prefix).events", "a metric reads either raw events or a pipeline, not both",
                 hint: "remove events: the metric reads the events pipeline \(quoted(pipeline.value?.name ?? "")) qualified")
            ok = false
        case .invalid: ok = false
        case .value(let list):
            if list.isEmpty {
                fail("\(prefix).events", "events is empty", hint: "name the event types to read, e.g. events = [\"http.request\"]")
                ok = false
            }
            for e in list where !events.contains(e) { events.append(e) }
        }

        var filter: FilterExpr?
        var filterOK = true
        switch string(t, "filter", prefix: prefix) {
        case .absent: break
        case .invalid: ok = false; filterOK = false
        case .value(let f):
            if !f.trimmingSpaces.isEmpty {
                do throws(FilterParseError) {
                    filter = try FilterParser.parse(f)
                } catch {
                    fail("\(prefix).filter", "invalid filter: \(error.description)",
                         hint: Self.filterHint(for: error))
                    ok = false
                    filterOK = false
                }
            }
        }

        var aggregate: AggregateSpec?
        switch string(t, "aggregate", prefix: prefix) {
        case .absent:
            fail("\(prefix).aggregate", "missing aggregate", hint: "one of \(AggregateSyntax.forms)")
            ok = false
        case .invalid: ok = false
        case .value(let a):
            switch AggregateSyntax.parse(a) {
            case .success(let spec): aggregate = spec
            case .failure(let e):
                fail("\(prefix).aggregate", e.message, hint: e.hint)
                ok = false
            }
        }

        var groupBy: [String] = []
        switch stringList(t, "group_by", prefix: prefix) {
        case .absent: break
        case .invalid: ok = false
        case .value(let list):
            for (j, f) in list.enumerated() {
                if groupBy.contains(f) {
                    fail("\(prefix).group_by[\(j)]", "field \(quoted(f)) is listed twice in group_by")
                    ok = false
                } else {
                    groupBy.append(f)
                }
            }
        }

        let rolling = rollingWindow(t, prefix: prefix)
        if case .invalid = rolling { ok = false }
        let maxLabelSets = int(t, "max_label_sets", prefix: prefix, min: 1)
        if case .invalid = maxLabelSets { ok = false }

        var windows: [CalendarPeriod] = []
        let periods = CalendarPeriod.allCases.map(\.rawValue)
        switch stringList(t, "windows", prefix: prefix) {
        case .absent where !rolling.isAbsent: break
        case .absent:
            fail("\(prefix).windows", "missing windows",
                 hint: "e.g. windows = [\"hour\", \"day\"]; one of \(periods.joined(separator: ", ")); or a rolling window, e.g. rolling = \"7d\" and step = \"1h\"")
            ok = false
        case .invalid: ok = false
        case .value(let list):
            if list.isEmpty {
                fail("\(prefix).windows", "windows is empty", hint: "e.g. windows = [\"hour\", \"day\"]; one of \(periods.joined(separator: ", "))")
                ok = false
            }
            for (j, w) in list.enumerated() {
                let key = "\(prefix).windows[\(j)]"
                guard let period = CalendarPeriod(rawValue: w) else {
                    var hint = "one of \(periods.joined(separator: ", "))"
                    if let guess = Self.periodGuess(w) ?? Suggest.closest(w, in: periods) {
                        hint = "did you mean \(quoted(guess))? " + hint
                    }
                    fail(key, "unknown window period \(quoted(w))", hint: hint)
                    ok = false
                    continue
                }
                if windows.contains(period) {
                    fail(key, "window \(quoted(w)) is listed twice")
                    ok = false
                } else {
                    windows.append(period)
                }
            }
        }

        let zone = timeZone(t, "time_zone", prefix: prefix)
        if case .invalid = zone { ok = false }

        // Field uses, for the type check across metrics (only when the metric's shape is known).
        if filterOK, !events.isEmpty {
            let filterKey = "\(prefix).filter", aggregateKey = "\(prefix).aggregate"
            if let filter {
                let line = locator.nearestLine(of: filterKey) ?? 0
                for (field, kind, text) in Self.fieldUses(filter) {
                    uses.append(FieldUse(field: field, kind: kind, metric: i, key: filterKey, line: line, text: text))
                }
            }
            if let aggregate, aggregate.needsNumber, let f = aggregate.field {
                uses.append(FieldUse(field: f, kind: .number, metric: i, key: aggregateKey,
                                     line: locator.nearestLine(of: aggregateKey) ?? 0, text: aggregate.configText))
            }
        }

        guard ok, let n = name.value, let a = aggregate else { return nil }
        return MetricDefinition(name: n, events: events, filter: filter, aggregate: a, groupBy: groupBy,
                                windows: windows, timeZone: zone.value, pipeline: pipeline.value?.name,
                                rolling: rolling.value, maxLabelSets: maxLabelSets.value)
    }

    /// `host:port` or `[v6]:port`, with a port in 0...65535.
    static func hostPort(_ s: String) -> (String, Int)? {
        guard let colon = s.lastIndex(of: ":") else { return nil }
        var host = String(s[..<colon])
        guard let port = Int(s[s.index(after: colon)...]), (0...65_535).contains(port) else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        return (host, port)
    }

    static func periodGuess(_ w: String) -> String? {
        switch w.lowercased() {
        case "minutely", "minutes", "1m", "min": return "minute"
        case "hourly", "hours", "1h": return "hour"
        case "daily", "days", "1d": return "day"
        case "weekly", "weeks", "1w", "isoweek": return "week"
        case "monthly", "months", "1mo": return "month"
        default:
            let lower = w.lowercased()
            return CalendarPeriod(rawValue: lower) != nil ? lower : nil
        }
    }

    static func suggestedMetricName(_ n: String) -> String? {
        var out = ""
        for c in n.unicodeScalars {
            let ok = (c >= "A" && c <= "Z") || (c >= "a" && c <= "z") || (c >= "0" && c <= "9") || c == "_"
            out.unicodeScalars.append(ok ? c : "_")
        }
        if let f = out.unicodeScalars.first, f >= "0" && f <= "9" { out = "_" + out }
        return out.isEmpty || out == n ? nil : out
    }

    static func filterHint(for error: FilterParseError) -> String? {
        if error.message.hasPrefix("expected a literal") {
            return "a literal is a \"string\", a number, true, false or null"
        }
        if error.message.hasPrefix("expected an operator") {
            return "e.g. status >= 500, route = \"/api\", tenant in [\"a\", \"b\"]"
        }
        return nil
    }

    /// `(field, kind, text)` for each use of a field as a number or a string in `e`.
    static func fieldUses(_ e: FilterExpr) -> [(String, FieldUse.Kind, String)] {
        var out: [(String, FieldUse.Kind, String)] = []
        func visit(_ e: FilterExpr) {
            switch e {
            case .compare(let f, let op, let v):
                switch v {
                case .number:
                    if op != .notEqual { out.append((f, .number, e.description)) }
                case .string:
                    out.append((f, .string, e.description))
                case .bool, .null: break
                }
            case .oneOf(let f, let values):
                if values.contains(where: { if case .number = $0 { return true } else { return false } }) {
                    out.append((f, .number, e.description))
                }
                if values.contains(where: { if case .string = $0 { return true } else { return false } }) {
                    out.append((f, .string, e.description))
                }
            case .hasPrefix(let f, _):
                out.append((f, .string, e.description))
            case .exists: break
            case .and(let a, let b), .or(let a, let b): visit(a); visit(b)
            case .not(let a): visit(a)
            }
        }
        visit(e)
        return out
    }

    /// A field is one JSON type per event type: reports a field used as a number and as a string
    /// by metrics reading a common event type (or by one metric), at the later use.
    mutating func checkFieldTypes(uses: [FieldUse], metrics: [(index: Int, metric: MetricDefinition)]) {
        var eventsOf: [Int: Set<String>] = [:]
        var nameOf: [Int: String] = [:]
        for (i, m) in metrics {
            eventsOf[i] = Set(m.events)
            nameOf[i] = m.name
        }
        let ordered = uses.enumerated().sorted { a, b in
            (a.element.metric, a.element.line, a.offset) < (b.element.metric, b.element.line, b.offset)
        }.map(\.element)
        var seen: [FieldUse] = []
        var reported: Set<String> = []
        for use in ordered {
            // Only metrics that compiled take part: a broken one already has its own error.
            guard let events = eventsOf[use.metric] else { continue }
            if let prior = seen.first(where: { p in
                p.field == use.field && p.kind != use.kind
                    && (p.metric == use.metric || !(eventsOf[p.metric] ?? []).isDisjoint(with: events))
            }), reported.insert("\(use.field)|\(use.metric)").inserted {
                func phrase(_ u: FieldUse) -> String { u.kind == .number ? "a number" : "a string" }
                let field = quoted(use.field)
                let message: String
                let common: [String]
                if prior.metric == use.metric {
                    common = []
                    message = "field \(field) is used as \(phrase(prior)) (\(prior.text)) and as \(phrase(use)) (\(use.text)) in metric \(quoted(nameOf[use.metric]!))"
                } else {
                    common = (eventsOf[prior.metric] ?? []).intersection(events).sorted()
                    message = "field \(field) is used as \(phrase(prior)) in metric \(quoted(nameOf[prior.metric]!)) (\(prior.text)) and as \(phrase(use)) in metric \(quoted(nameOf[use.metric]!)) (\(use.text))"
                        + ", both reading \(common.map(quoted).joined(separator: ", "))"
                }
                fail(use.key, message,
                     hint: "a field has one JSON type per event: compare \(field) with \(prior.kind == .number ? "numbers" : "strings") everywhere, or rename one of the fields",
                     line: use.line > 0 ? use.line : nil)
            }
            seen.append(use)
        }
    }

    // MARK: Values

    /// The name of a value's type, with an article, for messages.
    static func typeName(_ v: TOMLValueConvertible) -> String {
        switch v.type {
        case .string: return "a string"
        case .int: return "an integer (\(v.int.map(String.init) ?? "?"))"
        case .double: return "a float (\(v.double.map { "\($0)" } ?? "?"))"
        case .bool: return "a boolean (\(v.bool.map { "\($0)" } ?? "?"))"
        case .table: return "a table"
        case .array: return "an array"
        case .date: return "a date"
        case .time: return "a time"
        case .dateTime: return "a date-time"
        }
    }

    mutating func checkKeys(_ t: TOMLTable, allowed: [String], prefix: String) {
        for key in t.keys where !allowed.contains(key) {
            let path = TOMLKeyLocator.join(prefix, key)
            var hint: String
            if let guess = Suggest.closest(key, in: allowed) {
                hint = "did you mean \(quoted(guess))?"
            } else {
                let where_ = prefix.isEmpty ? "at the top level" : "in \(Self.sectionLabel(prefix))"
                hint = "known keys \(where_): \(allowed.joined(separator: ", "))"
            }
            if prefix.isEmpty {
                // A key that belongs in a section, written before any header.
                let owners: [(String, [String])] = [("[kpid]", ConfigKeys.kpid), ("[storage]", ConfigKeys.storage),
                                                    ("[status]", ConfigKeys.status),
                                                    ("[limits]", ConfigKeys.limits), ("[journal]", ConfigKeys.journal)]
                if let owner = owners.first(where: { $0.1.contains(key) }) {
                    hint = "\(key) belongs in \(owner.0): put it under that header"
                }
            }
            let what = t[key]?.type == .table ? "unknown table" : "unknown key"
            fail(path, "\(what) \(quoted(key))", hint: hint)
        }
    }

    static func sectionLabel(_ prefix: String) -> String {
        if prefix.hasPrefix("sources[") { return "[[sources]]" }
        if prefix.hasPrefix("metrics[") { return "[[metrics]]" }
        if prefix.hasPrefix("pipelines[") { return "[[pipelines]]" }
        if prefix.hasPrefix("alerts[") { return "[[alerts]]" }
        if prefix.hasPrefix("receivers[") { return "[[receivers]]" }
        return "[\(prefix)]"
    }

    /// A top-level table such as `[kpid]`; nil when absent or not a table (reported).
    mutating func section(_ root: TOMLTable, _ key: String) -> TOMLTable? {
        guard let v = root[key] else { return nil }
        guard v.type == .table, let t = v.table else {
            fail(key, "expected a table, found \(Self.typeName(v))",
                 hint: v.type == .array ? "write a single [\(key)] header, not [[\(key)]]" : "write [\(key)] and its keys below it")
            return nil
        }
        return t
    }

    /// `[[sources]]` / `[[metrics]]`: an array of tables.
    mutating func tableArray(_ root: TOMLTable, _ key: String) -> Read<[TOMLTable]> {
        guard let v = root[key] else { return .absent }
        guard v.type == .array, let array = v.array else {
            fail(key, "expected an array of tables, found \(Self.typeName(v))",
                 hint: "write [[\(key)]] (double brackets) before each entry")
            return .invalid
        }
        var tables: [TOMLTable] = []
        var ok = true
        for (i, element) in array.enumerated() {
            guard element.type == .table, let t = element.table else {
                fail("\(key)[\(i)]", "expected a table, found \(Self.typeName(element))",
                     hint: "write [[\(key)]] (double brackets) before each entry")
                ok = false
                continue
            }
            tables.append(t)
        }
        return ok || !tables.isEmpty ? .value(tables) : .invalid
    }

    mutating func string(_ t: TOMLTable, _ key: String, prefix: String, nonEmpty: Bool = false) -> Read<String> {
        guard let v = t[key] else { return .absent }
        let path = TOMLKeyLocator.join(prefix, key)
        guard let s = v.string else {
            fail(path, "expected a string, found \(Self.typeName(v))")
            return .invalid
        }
        if nonEmpty && s.isEmpty {
            fail(path, "must not be empty")
            return .invalid
        }
        return .value(s)
    }

    /// A string naming one case of `E` by its raw value; any other string fails as an unknown
    /// `what`, with every case listed in the hint.
    mutating func oneOf<E: RawRepresentable & CaseIterable>(_ t: TOMLTable, _ key: String, prefix: String,
                                                            what: String) -> Read<E> where E.RawValue == String {
        switch string(t, key, prefix: prefix) {
        case .absent: return .absent
        case .invalid: return .invalid
        case .value(let s):
            if let e = E(rawValue: s) { return .value(e) }
            fail(TOMLKeyLocator.join(prefix, key), "unknown \(what) \(quoted(s))",
                 hint: "one of \(E.allCases.map { quoted($0.rawValue) }.joined(separator: ", "))")
            return .invalid
        }
    }

    mutating func bool(_ t: TOMLTable, _ key: String, prefix: String) -> Read<Bool> {
        guard let v = t[key] else { return .absent }
        guard let b = v.bool else {
            let hint = v.string.map { ["true", "false"].contains($0.lowercased()) ? "write \($0.lowercased()) without quotes" : "true or false" }
            fail(TOMLKeyLocator.join(prefix, key), "expected a boolean, found \(Self.typeName(v))", hint: hint ?? "true or false")
            return .invalid
        }
        return .value(b)
    }

    mutating func int(_ t: TOMLTable, _ key: String, prefix: String, min: Int) -> Read<Int> {
        guard let v = t[key] else { return .absent }
        let path = TOMLKeyLocator.join(prefix, key)
        guard let n = v.int else {
            var hint: String?
            if let d = v.double, d == d.rounded(), abs(d) < 1e18 { hint = "write \(Int(d)) without a fraction or exponent" }
            if let s = v.string, Int(s) != nil { hint = "write \(s) without quotes" }
            fail(path, "expected an integer, found \(Self.typeName(v))", hint: hint)
            return .invalid
        }
        if n < min {
            fail(path, "must be at least \(min), found \(n)")
            return .invalid
        }
        return .value(n)
    }

    /// A string, or an array of strings; a single string stands for a one-element array.
    mutating func stringList(_ t: TOMLTable, _ key: String, prefix: String, allowEmptyStrings: Bool = false) -> Read<[String]> {
        guard let v = t[key] else { return .absent }
        let path = TOMLKeyLocator.join(prefix, key)
        if let s = v.string {
            if s.isEmpty && !allowEmptyStrings {
                fail(path, "must not be an empty string")
                return .invalid
            }
            return .value([s])
        }
        guard v.type == .array, let array = v.array else {
            fail(path, "expected an array of strings, found \(Self.typeName(v))")
            return .invalid
        }
        var out: [String] = []
        var ok = true
        for (j, element) in array.enumerated() {
            guard let s = element.string else {
                fail("\(path)[\(j)]", "expected a string, found \(Self.typeName(element))")
                ok = false
                continue
            }
            if s.isEmpty && !allowEmptyStrings {
                fail("\(path)[\(j)]", "must not be an empty string")
                ok = false
                continue
            }
            out.append(s)
        }
        return ok ? .value(out) : .invalid
    }

    mutating func duration(_ t: TOMLTable, _ key: String, prefix: String, positive: Bool = false) -> Read<Int64> {
        guard let v = t[key] else { return .absent }
        let path = TOMLKeyLocator.join(prefix, key)
        let units = "an integer and a unit (ms, s, m, h, d, w), e.g. \"30s\" or \"1h30m\""
        if let n = v.int {
            fail(path, "expected a duration string, found the bare number \(n)", hint: "write \"\(n)s\"; \(units)")
            return .invalid
        }
        if let d = v.double {
            fail(path, "expected a duration string, found the bare number \(d)", hint: "write it with a unit; \(units)")
            return .invalid
        }
        guard let s = v.string else {
            fail(path, "expected a duration string, found \(Self.typeName(v))", hint: units)
            return .invalid
        }
        guard let ms = DurationParser.millis(s) else {
            let trimmed = s.trimmingSpaces
            if !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) {
                fail(path, "duration \(quoted(s)) has no unit", hint: "write \"\(trimmed)s\"; \(units)")
            } else {
                fail(path, "invalid duration \(quoted(s))", hint: units)
            }
            return .invalid
        }
        if positive && ms == 0 {
            fail(path, "must be greater than 0", hint: "e.g. \"1s\"")
            return .invalid
        }
        return .value(ms)
    }

    mutating func timeZone(_ t: TOMLTable, _ key: String, prefix: String) -> Read<String> {
        let read = string(t, key, prefix: prefix)
        guard case .value(let zone) = read else { return read }
        if TimeZone(identifier: zone) != nil { return read }
        let path = TOMLKeyLocator.join(prefix, key)
        var hint = "an IANA time zone name such as \"UTC\" or \"Europe/Paris\""
        let known = ["UTC"] + TimeZone.knownTimeZoneIdentifiers
        if let exact = known.first(where: { $0.lowercased() == zone.lowercased() }) {
            hint = "did you mean \(quoted(exact))? (names are case-sensitive)"
        } else if let guess = Suggest.closest(zone, in: known) {
            hint = "did you mean \(quoted(guess))?"
        }
        fail(path, "unknown time zone \(quoted(zone))", hint: hint)
        return .invalid
    }
}

extension Read {
    var isInvalid: Bool {
        if case .invalid = self { return true }
        return false
    }

    var isAbsent: Bool {
        if case .absent = self { return true }
        return false
    }
}
