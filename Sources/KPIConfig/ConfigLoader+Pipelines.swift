import Foundation
import KPICore
import TOMLKit

extension ConfigKeys {
    static let pipeline = ["name", "events", "filters", "user_agent", "visitor", "dedupe_key", "referrer", "url",
                           "dedupe_window", "max_dedupe_keys", "max_user_agent_bytes", "bot_cache_entries",
                           "bot_patterns", "log_fields", "log_retention"]
}

/// `[[pipelines]]`: named qualification pipelines.
extension ConfigCompiler {
    /// The directory relative paths in the config (such as `bot_patterns`) are taken from: the
    /// config file's own directory, or the working directory for text without a file.
    var configDirectory: String {
        guard let file else { return FileManager.default.currentDirectoryPath }
        return URL(fileURLWithPath: file).deletingLastPathComponent().path
    }

    /// The pipelines that compiled, and the names of all declared ones (so that a metric naming
    /// a broken pipeline is not reported a second time as naming an unknown one).
    mutating func pipelines(_ root: TOMLTable) -> (valid: [QualificationPipelineConfig], declared: Set<String>) {
        guard case .value(let tables) = tableArray(root, "pipelines") else { return ([], []) }
        var names: [String: Int] = [:]
        var out: [QualificationPipelineConfig] = []
        for (i, t) in tables.enumerated() {
            if let p = pipeline(t, index: i, names: &names) { out.append(p) }
        }
        return (out, Set(names.keys))
    }

    mutating func pipeline(_ t: TOMLTable, index i: Int, names: inout [String: Int]) -> QualificationPipelineConfig? {
        let prefix = "pipelines[\(i)]"
        checkKeys(t, allowed: ConfigKeys.pipeline, prefix: prefix)
        var ok = true

        var name: String?
        switch string(t, "name", prefix: prefix) {
        case .absent:
            fail("\(prefix).name", "missing name", hint: "every pipeline needs a name, e.g. name = \"qualified_clicks\"")
            ok = false
        case .invalid: ok = false
        case .value(let n):
            let key = "\(prefix).name"
            if !Self.isMetricName(n) {
                fail(key, "invalid pipeline name \(quoted(n)): use \(Self.metricNameRule)")
                ok = false
            } else if let first = names[n] {
                fail(key, "duplicate pipeline name \(quoted(n)) (first defined at line \(first))")
                ok = false
            } else {
                names[n] = locator.nearestLine(of: key) ?? 0
                name = n
            }
        }

        var events: [String] = []
        switch stringList(t, "events", prefix: prefix) {
        case .absent:
            fail("\(prefix).events", "missing events", hint: "name the event types to qualify, e.g. events = [\"click\"]")
            ok = false
        case .invalid: ok = false
        case .value(let list):
            if list.isEmpty {
                fail("\(prefix).events", "events is empty", hint: "name the event types to qualify, e.g. events = [\"click\"]")
                ok = false
            }
            for e in list where !events.contains(e) { events.append(e) }
        }

        var p = QualificationPipelineConfig(name: name ?? "", events: events)

        switch stringList(t, "filters", prefix: prefix, allowEmptyStrings: false) {
        case .absent: break
        case .invalid: ok = false
        case .value(let list):
            var filters: [QualificationFilter] = []
            let known = QualificationFilter.allCases.map(\.rawValue)
            for (j, f) in list.enumerated() {
                let key = "\(prefix).filters[\(j)]"
                guard let filter = QualificationFilter(rawValue: f) else {
                    let guess = Suggest.closest(f, in: known).map { "did you mean \(quoted($0))? " } ?? ""
                    fail(key, "unknown filter \(quoted(f))", hint: guess + "one of \(known.joined(separator: ", "))")
                    ok = false
                    continue
                }
                if filters.contains(filter) {
                    fail(key, "filter \(quoted(f)) is listed twice")
                    ok = false
                } else if let last = filters.last, filter < last {
                    fail(key, "filter \(quoted(f)) listed after \(quoted(last.rawValue))",
                         hint: "filters run in the order bot, self_referrer, duplicate: only a click that passed the others may hide later ones as duplicates")
                    ok = false
                } else {
                    filters.append(filter)
                }
            }
            p.filters = filters
        }

        func take<T>(_ read: Read<T>, _ assign: (inout QualificationPipelineConfig, T) -> Void) {
            switch read {
            case .absent: break
            case .invalid: ok = false
            case .value(let v): assign(&p, v)
            }
        }
        take(string(t, "user_agent", prefix: prefix, nonEmpty: true)) { $0.userAgentField = $1 }
        take(string(t, "referrer", prefix: prefix, nonEmpty: true)) { $0.referrerField = $1 }
        take(string(t, "url", prefix: prefix, nonEmpty: true)) { $0.urlField = $1 }
        var visitorGiven = false
        take(string(t, "visitor", prefix: prefix, nonEmpty: true)) { $0.visitorField = $1; visitorGiven = true }
        switch stringList(t, "dedupe_key", prefix: prefix) {
        case .absent:
            if visitorGiven { p.dedupeKey = [p.visitorField, "listing"] }
        case .invalid: ok = false
        case .value(let list):
            if list.isEmpty {
                fail("\(prefix).dedupe_key", "dedupe_key is empty", hint: "e.g. dedupe_key = [\"visitor\", \"listing\"]")
                ok = false
            } else if Set(list).count != list.count {
                fail("\(prefix).dedupe_key", "a field is listed twice in dedupe_key")
                ok = false
            } else {
                p.dedupeKey = list
            }
        }

        take(duration(t, "dedupe_window", prefix: prefix, positive: true)) { $0.dedupeWindowMillis = $1 }
        take(int(t, "max_dedupe_keys", prefix: prefix, min: 1)) { $0.maxDedupeKeys = $1 }
        take(int(t, "max_user_agent_bytes", prefix: prefix, min: 16)) { $0.maxUserAgentBytes = $1 }
        take(int(t, "bot_cache_entries", prefix: prefix, min: 1)) { $0.botCacheEntries = $1 }
        switch stringList(t, "log_fields", prefix: prefix) {
        case .absent: break
        case .invalid: ok = false
        case .value(let list): p.logFields = list.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        }
        switch duration(t, "log_retention", prefix: prefix, positive: true) {
        case .absent: break
        case .invalid: ok = false
        case .value(let ms):
            if p.logFields.isEmpty {
                fail("\(prefix).log_retention", "log_retention without log_fields keeps no log",
                     hint: "add log_fields = [\"visitor\", \"listing\", ...] to keep qualified events")
                ok = false
            }
            p.logRetentionMillis = ms
        }

        if p.runs(.bot) {
            var dir = "bots"
            switch string(t, "bot_patterns", prefix: prefix, nonEmpty: true) {
            case .absent: break
            case .invalid: ok = false
            case .value(let d): dir = d
            }
            let resolved = dir.hasPrefix("/") ? dir : URL(fileURLWithPath: configDirectory).appendingPathComponent(dir).path
            if let set = botPatterns(directory: resolved, key: "\(prefix).bot_patterns") {
                p.botPatterns = set
            } else {
                ok = false
            }
        }

        return ok && name != nil ? p : nil
    }

    /// Reads a metric's `pipeline` key: the pipeline's name when it exists, reported otherwise.
    mutating func metricPipeline(_ t: TOMLTable, prefix: String,
                                 pipelines: (valid: [QualificationPipelineConfig], declared: Set<String>)) -> Read<QualificationPipelineConfig> {
        switch string(t, "pipeline", prefix: prefix) {
        case .absent: return .absent
        case .invalid: return .invalid
        case .value(let n):
            if let p = pipelines.valid.first(where: { $0.name == n }) { return .value(p) }
            if pipelines.declared.contains(n) { return .invalid }
            let pipelines = pipelines.valid
            let known = pipelines.map(\.name)
            var hint = known.isEmpty ? "define it in a [[pipelines]] table" : "known pipelines: \(known.joined(separator: ", "))"
            if let guess = Suggest.closest(n, in: known) { hint = "did you mean \(quoted(guess))?" }
            fail("\(prefix).pipeline", "unknown pipeline \(quoted(n))", hint: hint)
            return .invalid
        }
    }
}
