import Foundation
import KPICore
import TOMLKit

extension ConfigKeys {
    static let alertRule = ["name", "metric", "period", "match", "match_not", "condition", "above", "below", "absent_for",
                            "for", "keep_firing_for", "severity", "labels", "annotations", "receivers"]
    static let receiver = ["name", "kind", "url", "hmac_secret_file", "timeout", "send_resolved", "to", "from", "sendmail",
                           "smtp", "smtp_tls", "smtp_username", "smtp_password_file", "smtp_ca_file"]
    static let smtpReceiver = ["smtp_tls", "smtp_username", "smtp_password_file", "smtp_ca_file"]
    static let alerting = ["group_by", "group_wait", "group_interval", "repeat_interval", "inhibit_severity", "inhibit_equal",
                           "outbox_expiry", "retry_initial", "retry_max", "resolved_retention", "external_url"]
}

/// `[alerting]`, `[[receivers]]` and `[[alerts]]`: alert rules over the metrics, and where
/// their notifications go. Unknown metrics, periods and receivers, and template errors, are
/// config errors with key and line.
extension ConfigCompiler {
    mutating func alerting(_ root: TOMLTable, into config: inout KpidConfig) {
        if let t = section(root, "alerting") {
            checkKeys(t, allowed: ConfigKeys.alerting, prefix: "alerting")
            var a = AlertingConfig()
            if let l = stringList(t, "group_by", prefix: "alerting").value { a.groupBy = l }
            if let ms = duration(t, "group_wait", prefix: "alerting").value { a.groupWaitMillis = ms }
            if let ms = duration(t, "group_interval", prefix: "alerting", positive: true).value { a.groupIntervalMillis = ms }
            if let ms = duration(t, "repeat_interval", prefix: "alerting", positive: true).value { a.repeatIntervalMillis = ms }
            switch string(t, "inhibit_severity", prefix: "alerting") {
            case .value(""): a.inhibitSourceSeverity = nil
            case .value(let s):
                if AlertSeverity.rank(s) == nil {
                    fail("alerting.inhibit_severity", "unknown severity \(quoted(s))",
                         hint: "one of \(AlertSeverity.names.joined(separator: ", ")), or \"\" to disable inhibition")
                } else {
                    a.inhibitSourceSeverity = s
                }
            case .absent, .invalid: break
            }
            if let l = stringList(t, "inhibit_equal", prefix: "alerting").value { a.inhibitEqual = l }
            if let ms = duration(t, "outbox_expiry", prefix: "alerting", positive: true).value { a.outboxExpiryMillis = ms }
            if let ms = duration(t, "retry_initial", prefix: "alerting", positive: true).value { a.retryInitialMillis = ms }
            if let ms = duration(t, "retry_max", prefix: "alerting", positive: true).value { a.retryMaxMillis = ms }
            if let ms = duration(t, "resolved_retention", prefix: "alerting").value { a.resolvedRetentionMillis = ms }
            if let s = string(t, "external_url", prefix: "alerting", nonEmpty: true).value { a.externalURL = s }
            config.alerting = a
        }

        var receiverNames: [String: Int] = [:]
        if case .value(let tables) = tableArray(root, "receivers") {
            for (i, t) in tables.enumerated() {
                if let r = receiver(t, index: i, names: &receiverNames) { config.receivers.append(r) }
            }
        }

        if case .value(let tables) = tableArray(root, "alerts") {
            var names: [String: Int] = [:]
            for (i, t) in tables.enumerated() {
                if let r = alertRule(t, index: i, names: &names, metrics: config.metrics + config.derivedMetrics.map(\.alertShape),
                                    receivers: receiverNames) {
                    config.alertRules.append(r)
                }
            }
        }
    }

    mutating func receiver(_ t: TOMLTable, index i: Int, names: inout [String: Int]) -> ReceiverConfig? {
        let prefix = "receivers[\(i)]"
        checkKeys(t, allowed: ConfigKeys.receiver, prefix: prefix)
        var ok = true
        var name: String?
        switch string(t, "name", prefix: prefix, nonEmpty: true) {
        case .absent: fail("\(prefix).name", "missing name", hint: "e.g. name = \"ops-webhook\""); ok = false
        case .invalid: ok = false
        case .value(let n):
            if let first = names[n] {
                fail("\(prefix).name", "duplicate receiver name \(quoted(n)) (first defined at line \(first))"); ok = false
            } else {
                names[n] = locator.nearestLine(of: "\(prefix).name") ?? 0
                name = n
            }
        }
        var kind: ReceiverKind?
        switch string(t, "kind", prefix: prefix) {
        case .absent: fail("\(prefix).kind", "missing kind", hint: "kind = \"webhook\" or kind = \"email\""); ok = false
        case .invalid: ok = false
        case .value(let k):
            kind = ReceiverKind(rawValue: k)
            if kind == nil { fail("\(prefix).kind", "unknown receiver kind \(quoted(k))", hint: "one of webhook, email"); ok = false }
        }
        guard let kind else { return nil }
        var r = ReceiverConfig(name: name ?? "", kind: kind)
        let allowed: Set<String> = kind == .webhook ? ["url", "hmac_secret_file", "timeout"]
            : Set(["to", "from", "sendmail", "smtp", "timeout"] + ConfigKeys.smtpReceiver)
        for key in ConfigKeys.receiver.dropFirst(2) where key != "send_resolved" && t[key] != nil && !allowed.contains(key) {
            fail("\(prefix).\(key)", "\(key) does not apply to a \(kind.rawValue) receiver"); ok = false
        }
        switch kind {
        case .webhook:
            switch string(t, "url", prefix: prefix, nonEmpty: true) {
            case .absent: fail("\(prefix).url", "missing url", hint: "e.g. url = \"https://hooks.example.com/kpid\""); ok = false
            case .invalid: ok = false
            case .value(let u):
                let lower = u.lowercased()
                if !(lower.hasPrefix("http://") || lower.hasPrefix("https://")) || u.count <= 8 {
                    fail("\(prefix).url", "url \(quoted(u)) must start with http:// or https://"); ok = false
                } else {
                    r.url = u
                }
            }
            if let f = string(t, "hmac_secret_file", prefix: prefix, nonEmpty: true).value {
                let path = resolve(f)
                if !FileManager.default.isReadableFile(atPath: path) {
                    fail("\(prefix).hmac_secret_file", "cannot read the HMAC secret file \(path)"); ok = false
                } else {
                    r.hmacSecretFile = path
                }
            }
            if let ms = duration(t, "timeout", prefix: prefix, positive: true).value { r.timeoutMillis = ms }
        case .email:
            switch stringList(t, "to", prefix: prefix) {
            case .absent: fail("\(prefix).to", "missing to", hint: "e.g. to = [\"oncall@example.com\"]"); ok = false
            case .invalid: ok = false
            case .value(let l):
                for (j, a) in l.enumerated() where !a.contains("@") {
                    fail("\(prefix).to[\(j)]", "\(quoted(a)) is not an email address"); ok = false
                }
                r.to = l
            }
            if let f = string(t, "from", prefix: prefix, nonEmpty: true).value { r.from = f }
            switch stringList(t, "sendmail", prefix: prefix) {
            case .value(let l):
                // A single string is a command line: split it on spaces.
                let argv = l.count == 1 ? l[0].split(separator: " ").map(String.init) : l
                if argv.isEmpty { fail("\(prefix).sendmail", "must name a program"); ok = false } else { r.sendmail = argv }
            case .absent, .invalid: break
            }
            switch smtp(t, prefix: prefix) {
            case .value(let settings): r.smtp = settings
            case .invalid: ok = false
            case .absent: break
            }
            if r.smtp != nil, let ms = duration(t, "timeout", prefix: prefix, positive: true).value { r.timeoutMillis = ms }
        }
        switch t["send_resolved"] {
        case nil: break
        case let v?:
            if let b = v.bool { r.sendResolved = b } else {
                fail("\(prefix).send_resolved", "expected a boolean, found \(Self.typeName(v))"); ok = false
            }
        }
        return ok && name != nil ? r : nil
    }

    mutating func alertRule(_ t: TOMLTable, index i: Int, names: inout [String: Int], metrics: [MetricDefinition],
                            receivers: [String: Int]) -> AlertRule? {
        let prefix = "alerts[\(i)]"
        checkKeys(t, allowed: ConfigKeys.alertRule, prefix: prefix)
        var ok = true
        var name: String?
        switch string(t, "name", prefix: prefix) {
        case .absent: fail("\(prefix).name", "missing name", hint: "e.g. name = \"worker_5xx_rate\""); ok = false
        case .invalid: ok = false
        case .value(let n):
            if !Self.isMetricName(n) {
                fail("\(prefix).name", "invalid alert name \(quoted(n)): use \(Self.metricNameRule)"); ok = false
            } else if let first = names[n] {
                fail("\(prefix).name", "duplicate alert name \(quoted(n)) (first defined at line \(first))"); ok = false
            } else {
                names[n] = locator.nearestLine(of: "\(prefix).name") ?? 0
                name = n
            }
        }

        var metric: MetricDefinition?
        switch string(t, "metric", prefix: prefix) {
        case .absent: fail("\(prefix).metric", "missing metric", hint: "the name of a [[metrics]] entry"); ok = false
        case .invalid: ok = false
        case .value(let m):
            metric = metrics.first { $0.name == m }
            if metric == nil {
                let known = metrics.map(\.name)
                let guess = Suggest.closest(m, in: known).map { "did you mean \(quoted($0))? " } ?? ""
                fail("\(prefix).metric", "unknown metric \(quoted(m))",
                     hint: guess + "known metrics: \(known.joined(separator: ", "))")
                ok = false
            }
        }

        var period: String?
        switch string(t, "period", prefix: prefix) {
        case .absent: period = metric.flatMap { $0.windows.min()?.rawValue ?? $0.rolling?.period }
        case .invalid: ok = false
        case .value(let p):
            let known = metric.map { $0.windows.map(\.rawValue) + ($0.rolling.map { [$0.period] } ?? []) } ?? []
            if let metric, !known.contains(p) {
                fail("\(prefix).period", "metric \(quoted(metric.name)) has no \(quoted(p)) window",
                     hint: "one of \(known.joined(separator: ", "))")
                ok = false
            }
            period = p
        }

        var matchers: [LabelMatcher] = []
        for (key, negated) in [("match", false), ("match_not", true)] {
            guard let v = t[key] else { continue }
            guard let table = v.table else {
                fail("\(prefix).\(key)", "expected a table of label = \"value\", found \(Self.typeName(v))",
                     hint: "e.g. \(key) = { retailer = \"acme\" }")
                ok = false
                continue
            }
            for k in table.keys.sorted() {
                guard let s = table[k]?.string else {
                    fail("\(prefix).\(key).\(k)", "expected a string label value"); ok = false; continue
                }
                if let metric, !metric.groupBy.contains(k) {
                    fail("\(prefix).\(key).\(k)", "metric \(quoted(metric.name)) has no label \(quoted(k))",
                         hint: "its labels are its group_by fields: \(metric.groupBy.joined(separator: ", "))")
                    ok = false
                }
                matchers.append(LabelMatcher(name: k, value: s, negated: negated))
            }
        }

        var condition: AlertCondition?
        let given = ["condition", "above", "below", "absent_for"].filter { t[$0] != nil }
        if given.isEmpty {
            fail(prefix, "alert \(quoted(name ?? "")) has no condition",
                 hint: "add condition = \"value > 0.005\", above = 0.005, below = 0.95 or absent_for = \"30m\"")
            ok = false
        } else if given.count > 1 {
            fail("\(prefix).\(given[1])", "a rule has one condition: \(given.joined(separator: " and ")) are both set"); ok = false
        } else {
            switch given[0] {
            case "condition":
                if let c = string(t, "condition", prefix: prefix).value {
                    switch Self.parseCondition(c) {
                    case .success(let parsed): condition = parsed
                    case .failure(let e):
                        fail("\(prefix).condition", "invalid condition \(quoted(c)): \(e.message)",
                             hint: "e.g. \"value > 0.005\"; operators >, >=, <, <=, ==, !="); ok = false
                    }
                } else { ok = false }
            case "above", "below":
                let key = given[0]
                if let d = t[key]?.double ?? t[key]?.int.map(Double.init) {
                    condition = .threshold(key == "above" ? .greater : .less, d)
                } else {
                    fail("\(prefix).\(key)", "expected a number, found \(Self.typeName(t[key]!))"); ok = false
                }
            default:
                if let ms = duration(t, "absent_for", prefix: prefix, positive: true).value {
                    condition = .absent(forMillis: ms)
                } else { ok = false }
            }
        }

        let forMs = duration(t, "for", prefix: prefix)
        let keepMs = duration(t, "keep_firing_for", prefix: prefix)
        if forMs.isInvalid || keepMs.isInvalid { ok = false }

        var severity = "high"
        if let s = string(t, "severity", prefix: prefix).value {
            if AlertSeverity.rank(s) == nil {
                let guess = Suggest.closest(s.lowercased(), in: AlertSeverity.names).map { "did you mean \(quoted($0))? " } ?? ""
                fail("\(prefix).severity", "unknown severity \(quoted(s))",
                     hint: guess + "one of \(AlertSeverity.names.joined(separator: ", "))")
                ok = false
            } else {
                severity = s
            }
        }

        let labels = templates(t, "labels", prefix: prefix)
        let annotations = templates(t, "annotations", prefix: prefix)
        if labels == nil || annotations == nil { ok = false }
        if let labels {
            for (k, _) in labels where k == "alertname" || k == "severity" {
                fail("\(prefix).labels.\(k)", "label \(quoted(k)) is set by kpid", hint: k == "severity" ? "use severity = …" : "use name = …")
                ok = false
            }
        }

        var routes: [String] = []
        switch stringList(t, "receivers", prefix: prefix) {
        case .value(let l):
            for (j, r) in l.enumerated() {
                if receivers[r] == nil {
                    let guess = Suggest.closest(r, in: Array(receivers.keys)).map { "did you mean \(quoted($0))? " } ?? ""
                    fail("\(prefix).receivers[\(j)]", "unknown receiver \(quoted(r))",
                         hint: guess + (receivers.isEmpty ? "no [[receivers]] are configured" : "known receivers: \(receivers.keys.sorted().joined(separator: ", "))"))
                    ok = false
                } else {
                    routes.append(r)
                }
            }
        case .invalid: ok = false
        case .absent: break
        }

        guard ok, let name, let metric, let period, let condition else { return nil }
        return AlertRule(name: name, metric: metric.name, period: period, matchers: matchers, condition: condition,
                         forMillis: forMs.value ?? 0, keepFiringForMillis: keepMs.value ?? 0, severity: severity,
                         labels: labels ?? [], annotations: annotations ?? [], receivers: routes)
    }

    /// `labels` / `annotations`: a table of compiled templates (nil when one failed, reported).
    mutating func templates(_ t: TOMLTable, _ key: String, prefix: String) -> [(String, AlertTemplate)]? {
        guard let v = t[key] else { return [] }
        guard let table = v.table else {
            fail("\(prefix).\(key)", "expected a table, found \(Self.typeName(v))", hint: "e.g. \(key) = { summary = \"…\" }")
            return nil
        }
        var out: [(String, AlertTemplate)] = []
        var ok = true
        for k in table.keys.sorted() {
            let path = "\(prefix).\(key).\(TOMLKeyLocator.segment(k))"
            guard let s = table[k]?.string else { fail(path, "expected a string"); ok = false; continue }
            do throws(AlertTemplate.CompileError) {
                out.append((k, try AlertTemplate(s)))
            } catch {
                fail(path, "template error at \(error.description)",
                     hint: "e.g. \"{{ labels.retailer }} success {{ value | percent }}\"")
                ok = false
            }
        }
        return ok ? out : nil
    }

    struct ConditionError: Error { var message: String }

    /// `value OP number`.
    static func parseCondition(_ text: String) -> Result<AlertCondition, ConditionError> {
        let s = text.trimmingSpaces
        guard s.hasPrefix("value") else { return .failure(ConditionError(message: "it must start with 'value'")) }
        var rest = Substring(s.dropFirst(5)).drop { $0 == " " }
        var op: ComparisonOperator?
        for candidate in [">=", "<=", "==", "!=", ">", "<", "="] where rest.hasPrefix(candidate) {
            op = ComparisonOperator(rawValue: candidate == "==" ? "=" : candidate)
            rest = rest.dropFirst(candidate.count)
            break
        }
        guard let op else { return .failure(ConditionError(message: "expected an operator after 'value'")) }
        let number = String(rest).trimmingSpaces
        var scale = 1.0
        var digits = number
        if number.hasSuffix("%") { scale = 0.01; digits = String(number.dropLast()).trimmingSpaces }
        guard let d = Double(digits), d.isFinite else {
            return .failure(ConditionError(message: "expected a number after \(op.rawValue), found \(quoted(number))"))
        }
        return .success(.threshold(op, d * scale))
    }
}
