/// Evaluates alert rules over the rows of each flush: the pure core of alerting (no I/O, time
/// passed in).
///
/// **Which value a rule reads.** A rule watches one metric and one period. For each label set
/// of that metric (that its matchers accept), the rule reads the value of the label set's
/// *newest* window of that period, as emitted by the engine in flush rows: a row of a newer
/// window replaces the value, a row of an older window (a late update) is ignored. The value
/// counts while its window is open; once the watermark reaches the window's end (the window is
/// final) the label set has no current value until a row of a newer window arrives, and a
/// threshold condition does not hold on a missing value. A row's value counts in the evaluation
/// of the flush that carries it, final or not. This works for any metric the engine emits
/// (calendar windows today, rolling windows and ratios later) through the same rows.
///
/// **Clocks.** Threshold rules step at the flush's watermark (event time), so a replayed stream
/// alerts as live traffic did; nothing steps before the first event. `absent_for` rules step
/// at the wall-clock `now`: a label set that has reported (a row with new samples) and then
/// sends nothing for `absent_for` makes the condition hold.
///
/// Costs: per flush, O(rows × rules watching the row's metric) plus O(active alerts). Each
/// label set's labels are parsed and matched against the rules once, when first seen (memory
/// ≈ 200 bytes + labels per label set and metric). Inactive label sets of threshold rules keep
/// no alert instance.
public final class AlertEvaluator {
    public let rules: [AlertRule]
    let config: AlertingConfig
    /// metric → period → index in ``watches``.
    private var watchIndex: [String: [String: Int]] = [:]
    private var watches: [Watch] = []
    /// Per rule: its instances by series labels.
    private(set) var instances: [[String: AlertInstance]]
    private var ruleIndex: [String: Int] = [:]
    /// Per absent rule and series: the last `lastSeen` written to the store.
    private var persistedSeen: [[String: EpochMillis]]

    /// The rules watching one (metric, period), and the label sets seen for it.
    struct Watch {
        var rules: [Int]
        var series: [String: Series] = [:]
    }

    struct Series {
        var labels: [String: String]
        /// Indices into ``Watch/rules`` of the rules whose matchers accept the labels.
        var matched: [Int]
        var windowStart: EpochMillis = .min
        var samples: Int64 = -1
    }

    /// What one evaluation changed, for the store (in the flush's transaction) and the dispatcher.
    public struct Changes: Sendable {
        /// Instances to upsert into `alert_state`.
        public var upserts: [AlertInstance] = []
        /// `(rule, seriesLabels)` to delete from `alert_state`.
        public var deletions: [(rule: String, seriesLabels: String)] = []
        /// History: fired (insert) and resolved (close) alerts.
        public var fired: [AlertInstance] = []
        public var resolved: [AlertInstance] = []
        public init() {}
        public var isEmpty: Bool { upserts.isEmpty && deletions.isEmpty && fired.isEmpty && resolved.isEmpty }
    }

    public init(rules: [AlertRule], config: AlertingConfig = AlertingConfig()) {
        self.rules = rules
        self.config = config
        instances = Array(repeating: [:], count: rules.count)
        persistedSeen = Array(repeating: [:], count: rules.count)
        for (i, r) in rules.enumerated() {
            ruleIndex[r.name] = i
            if let w = watchIndex[r.metric]?[r.period] {
                watches[w].rules.append(i)
            } else {
                watchIndex[r.metric, default: [:]][r.period] = watches.count
                watches.append(Watch(rules: [i]))
            }
        }
    }

    /// Loads instances persisted by an earlier run. Instances of rules no longer configured are
    /// returned, to be deleted.
    public func restore(_ saved: [AlertInstance]) -> [(rule: String, seriesLabels: String)] {
        var stale: [(String, String)] = []
        for var a in saved {
            guard let r = ruleIndex[a.rule] else { stale.append((a.rule, a.seriesLabels)); continue }
            let rule = rules[r]
            // Labels are re-derived so that a changed rule label applies (the fingerprint follows).
            if let series = CanonicalLabels.parse(a.seriesLabels) {
                a.labels = alertLabels(rule, series: series, value: a.value, samples: a.samples)
            }
            instances[r][a.seriesLabels] = a
            if rule.condition.isAbsent, let seen = a.lastSeen {
                persistedSeen[r][a.seriesLabels] = seen
                if let w = watchIndex[rule.metric]?[rule.period], watches[w].series[a.seriesLabels] == nil,
                   let labels = CanonicalLabels.parse(a.seriesLabels) {
                    watches[w].series[a.seriesLabels] = Series(labels: labels, matched: matchedRules(w, labels))
                }
            }
        }
        return stale
    }

    /// Every instance that is not inactive.
    public var activeInstances: [AlertInstance] {
        var out: [AlertInstance] = []
        for table in instances {
            for a in table.values where a.phase != .inactive { out.append(a) }
        }
        return out
    }

    /// The instance of `rule` for `seriesLabels`, if any.
    public func instance(rule: String, seriesLabels: String) -> AlertInstance? {
        guard let r = ruleIndex[rule] else { return nil }
        return instances[r][seriesLabels]
    }

    /// The rule named `name`.
    public func rule(named name: String) -> AlertRule? { ruleIndex[name].map { rules[$0] } }

    private func matchedRules(_ w: Int, _ labels: [String: String]) -> [Int] {
        var m: [Int] = []
        for (k, r) in watches[w].rules.enumerated() where rules[r].matches(labels) { m.append(k) }
        return m
    }

    func alertLabels(_ rule: AlertRule, series: [String: String], value: Double?, samples: Int64) -> [String: String] {
        var labels = series
        if !rule.labels.isEmpty {
            let ctx = context(rule, labels: series, value: value, samples: samples)
            for (k, t) in rule.labels { labels[k] = t.render(ctx) }
        }
        labels["alertname"] = rule.name
        labels["severity"] = rule.severity
        return labels
    }

    func context(_ rule: AlertRule, labels: [String: String], value: Double?, samples: Int64) -> AlertTemplate.Context {
        var threshold: Double?
        if case .threshold(_, let t) = rule.condition { threshold = t }
        return AlertTemplate.Context(value: value, threshold: threshold, labels: labels, alertname: rule.name,
                                     severity: rule.severity, metric: rule.metric, period: rule.period, samples: samples)
    }

    /// The rendered annotations of `a`.
    public func annotations(of a: AlertInstance) -> [String: String] {
        guard let r = ruleIndex[a.rule] else { return [:] }
        let rule = rules[r]
        let ctx = context(rule, labels: a.labels, value: a.value, samples: a.samples)
        var out: [String: String] = [:]
        for (k, t) in rule.annotations { out[k] = t.render(ctx) }
        if out["value"] == nil, let v = a.value { out["value"] = NumberText.shortest(v) }
        return out
    }

    /// Evaluates every rule after one flush: `rows` and `watermark` from the flush batch, `now`
    /// the wall clock.
    public func evaluate(rows: [AggregateRow], watermark: EpochMillis, now: EpochMillis) -> Changes {
        var changes = Changes()
        var touched: [Set<String>] = Array(repeating: [], count: rules.count)
        for row in rows {
            guard let w = watchIndex[row.metric]?[row.period] else { continue }
            var isNewData = false
            if watches[w].series[row.labels] == nil {
                guard let labels = CanonicalLabels.parse(row.labels) else { continue }
                watches[w].series[row.labels] = Series(labels: labels, matched: matchedRules(w, labels))
            }
            let series: Series
            do {
                var s = watches[w].series[row.labels]!
                if row.windowStart > s.windowStart || (row.windowStart == s.windowStart && row.samples != s.samples) {
                    isNewData = row.samples > 0
                    s.windowStart = max(s.windowStart, row.windowStart)
                    s.samples = row.samples
                    watches[w].series[row.labels] = s
                }
                series = s
            }
            for k in series.matched {
                let r = watches[w].rules[k]
                let rule = rules[r]
                switch rule.condition {
                case .absent:
                    guard isNewData else { continue }
                    var a = instances[r][row.labels]
                        ?? AlertInstance(rule: rule.name, seriesLabels: row.labels,
                                         labels: alertLabels(rule, series: series.labels, value: nil, samples: 0))
                    a.lastSeen = now
                    a.value = row.value
                    a.samples = row.samples
                    instances[r][row.labels] = a
                    let persisted = persistedSeen[r][row.labels]
                    if persisted == nil || now &- persisted! >= max(1_000, absentMillis(rule) / 20) {
                        persistedSeen[r][row.labels] = now
                        changes.upserts.append(a)
                    }
                case .threshold(let op, let threshold):
                    let existing = instances[r][row.labels]
                    if let e = existing, row.windowStart < e.windowStart { continue }
                    let holds = row.value.map { op.holds($0, threshold) } ?? false
                    if existing == nil && !holds { continue }
                    var a = existing ?? AlertInstance(rule: rule.name, seriesLabels: row.labels,
                                                      labels: alertLabels(rule, series: series.labels, value: row.value,
                                                                          samples: row.samples))
                    a.value = row.value
                    a.samples = row.samples
                    a.windowStart = row.windowStart
                    a.windowEnd = row.windowEnd
                    a.windowFinal = row.isFinal
                    touched[r].insert(row.labels)
                    let t = AlertStateMachine.step(&a, holds: holds, now: watermark, forMillis: rule.forMillis,
                                                   keepFiringForMillis: rule.keepFiringForMillis)
                    store(&a, rule: r, transition: t, changes: &changes, alwaysSave: existing == nil || a != existing!)
                }
            }
        }
        // Time passes for every instance without a row in this flush.
        for (r, rule) in rules.enumerated() {
            switch rule.condition {
            case .threshold(let op, let threshold):
                guard watermark != .min else { continue }
                for (key, var a) in instances[r] where !touched[r].contains(key) {
                    let current = a.windowEnd > watermark ? a.value : nil
                    let holds = current.map { op.holds($0, threshold) } ?? false
                    let before = a
                    let t = AlertStateMachine.step(&a, holds: holds, now: watermark, forMillis: rule.forMillis,
                                                   keepFiringForMillis: rule.keepFiringForMillis)
                    store(&a, rule: r, transition: t, changes: &changes, alwaysSave: a != before, clock: watermark)
                }
            case .absent(let absentFor):
                for (_, var a) in instances[r] {
                    let holds = a.lastSeen.map { now &- $0 >= absentFor } ?? false
                    let before = a
                    let t = AlertStateMachine.step(&a, holds: holds, now: now, forMillis: rule.forMillis,
                                                   keepFiringForMillis: rule.keepFiringForMillis)
                    if t != .none { a.value = nil }
                    store(&a, rule: r, transition: t, changes: &changes, alwaysSave: t != .none && a != before, clock: now)
                }
            }
        }
        return changes
    }

    private func absentMillis(_ rule: AlertRule) -> Int64 {
        if case .absent(let ms) = rule.condition { return ms }
        return 0
    }

    /// Keeps, saves or forgets `a` after a step.
    private func store(_ a: inout AlertInstance, rule r: Int, transition: AlertStateMachine.Transition,
                       changes: inout Changes, alwaysSave: Bool, clock: EpochMillis? = nil) {
        let rule = rules[r]
        switch transition {
        case .fired: changes.fired.append(a)
        case .resolved: changes.resolved.append(a)
        case .none, .becamePending, .cancelled: break
        }
        let forgetResolved = a.phase == .resolved && clock != nil
            && clock! &- (a.resolvedAt ?? clock!) >= config.resolvedRetentionMillis
        if !rule.condition.isAbsent && (a.phase == .inactive || forgetResolved) {
            instances[r][a.seriesLabels] = nil
            changes.deletions.append((rule.name, a.seriesLabels))
            return
        }
        if rule.condition.isAbsent && forgetResolved {
            a.phase = .inactive
            a.resolvedAt = nil
            instances[r][a.seriesLabels] = a
            changes.upserts.append(a)
            return
        }
        instances[r][a.seriesLabels] = a
        if alwaysSave { changes.upserts.append(a) }
    }
}
