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
    /// Per rule: its instances by series id (an index into ``series``).
    private(set) var instances: [[Int: AlertInstance]]
    /// Every label set seen, per watch; ids are indices.
    private var series: [Series] = []
    private var ruleIndex: [String: Int] = [:]
    /// Per rule: its condition (a copy without references, for the per-row loop).
    private let conditions: [AlertCondition]
    /// Per `absent_for` rule: the ids of the series its matchers accept.
    private var absentSeries: [[Int]]

    /// The rules watching one (metric, period), and the label sets seen for it (labels → series id).
    struct Watch {
        var metric: String
        var period: String
        var rules: [Int]
        var series: [String: Int] = [:]
        /// How stale a persisted `last_seen` may get: 1/20 of the shortest `absent_for` of its
        /// rules (at least 1 s); nil when no rule of the watch is an `absent_for` rule.
        var seenThrottle: Int64?
    }

    struct Series {
        /// Canonical label JSON.
        var key: String
        var labels: [String: String]
        /// Indices into ``Watch/rules`` of the rules whose matchers accept the labels.
        var matched: [Int]
        var windowStart: EpochMillis = .min
        var samples: Int64 = -1
        /// Wall-clock time of the last row with new samples (`absent_for`), and of its last save.
        var lastSeen: EpochMillis?
        var persistedSeen: EpochMillis?
        var watch: Int
        /// How many rules hold an instance for this label set: at 0, a row whose condition does
        /// not hold is skipped without a dictionary lookup per rule.
        var instanceCount: Int32 = 0
    }

    /// What one evaluation changed, for the store (in the flush's transaction) and the dispatcher.
    public struct Changes: Sendable {
        /// Instances to upsert into `alert_state`.
        public var upserts: [AlertInstance] = []
        /// `(rule, seriesLabels)` to delete from `alert_state`.
        public var deletions: [(rule: String, seriesLabels: String)] = []
        /// `(metric, period, series labels, last seen)` to save for `absent_for` rules.
        public var seen: [(metric: String, period: String, seriesLabels: String, lastSeen: EpochMillis)] = []
        /// History: fired (insert) and resolved (close) alerts.
        public var fired: [AlertInstance] = []
        public var resolved: [AlertInstance] = []
        public init() {}
        public var isEmpty: Bool { upserts.isEmpty && deletions.isEmpty && fired.isEmpty && resolved.isEmpty && seen.isEmpty }
    }

    public init(rules: [AlertRule], config: AlertingConfig = AlertingConfig()) {
        self.rules = rules
        self.config = config
        instances = Array(repeating: [:], count: rules.count)
        absentSeries = Array(repeating: [], count: rules.count)
        conditions = rules.map(\.condition)
        for (i, r) in rules.enumerated() {
            ruleIndex[r.name] = i
            let w: Int
            if let existing = watchIndex[r.metric]?[r.period] {
                w = existing
                watches[w].rules.append(i)
            } else {
                w = watches.count
                watchIndex[r.metric, default: [:]][r.period] = w
                watches.append(Watch(metric: r.metric, period: r.period, rules: [i]))
            }
            if case .absent(let ms) = r.condition {
                watches[w].seenThrottle = min(watches[w].seenThrottle ?? .max, max(1_000, ms / 20))
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
            guard let w = watchIndex[rule.metric]?[rule.period], let id = seriesID(w, a.seriesLabels) else {
                stale.append((a.rule, a.seriesLabels))
                continue
            }
            setInstance(r, id, a)
            if rule.condition.isAbsent, let seen = a.lastSeen, series[id].lastSeen == nil { series[id].lastSeen = seen }
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
        guard let r = ruleIndex[rule], let w = watchIndex[rules[r].metric]?[rules[r].period],
              let id = watches[w].series[seriesLabels] else { return nil }
        return instances[r][id]
    }

    /// The rule named `name`.
    public func rule(named name: String) -> AlertRule? { ruleIndex[name].map { rules[$0] } }

    /// The id of `labels` in watch `w`, created (labels parsed, rules matched) on first sight;
    /// nil when the labels are not canonical label JSON.
    private func seriesID(_ w: Int, _ labels: String) -> Int? {
        if let id = watches[w].series[labels] { return id }
        guard let parsed = CanonicalLabels.parse(labels) else { return nil }
        let id = series.count
        let matched = matchedRules(w, parsed)
        series.append(Series(key: labels, labels: parsed, matched: matched, watch: w))
        watches[w].series[labels] = id
        for k in matched where conditions[watches[w].rules[k]].isAbsent { absentSeries[watches[w].rules[k]].append(id) }
        return id
    }

    /// Loads the `last_seen` times saved by an earlier run (`absent_for` rules).
    public func restoreSeen(_ saved: [(metric: String, period: String, seriesLabels: String, lastSeen: EpochMillis)]) {
        for s in saved {
            guard let w = watchIndex[s.metric]?[s.period], watches[w].seenThrottle != nil,
                  let id = seriesID(w, s.seriesLabels) else { continue }
            series[id].lastSeen = max(series[id].lastSeen ?? .min, s.lastSeen)
            series[id].persistedSeen = series[id].lastSeen
        }
    }

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
        var touched: [Set<Int>] = Array(repeating: [], count: rules.count)
        for row in rows {
            guard let w = watchIndex[row.metric]?[row.period], let id = seriesID(w, row.labels) else { continue }
            if row.windowStart > series[id].windowStart
                || (row.windowStart == series[id].windowStart && row.samples != series[id].samples) {
                series[id].windowStart = row.windowStart
                series[id].samples = row.samples
                if row.samples > 0, let throttle = watches[w].seenThrottle {
                    series[id].lastSeen = now
                    if series[id].persistedSeen.map({ now &- $0 >= throttle }) ?? true {
                        series[id].persistedSeen = now
                        changes.seen.append((row.metric, row.period, row.labels, now))
                    }
                }
            }
            // Hoisted per row: a rule gains an instance here only in its own step below.
            let anyInstance = series[id].instanceCount != 0
            for k in series[id].matched {
                let r = watches[w].rules[k]
                switch conditions[r] {
                case .absent:
                    continue // stepped below, from the series' lastSeen
                case .threshold(let op, let threshold):
                    let holds = row.value.map { op.holds($0, threshold) } ?? false
                    // Fast path: most label sets of most rules are inactive and stay so.
                    if !holds && (!anyInstance || instances[r].isEmpty) { continue }
                    let existing = instances[r][id]
                    if existing == nil && !holds { continue }
                    if let e = existing, row.windowStart < e.windowStart { continue }
                    var a = existing ?? AlertInstance(rule: rules[r].name, seriesLabels: row.labels,
                                                      labels: alertLabels(rules[r], series: series[id].labels, value: row.value,
                                                                          samples: row.samples))
                    a.value = row.value
                    a.samples = row.samples
                    a.windowStart = row.windowStart
                    a.windowEnd = row.windowEnd
                    a.windowFinal = row.isFinal
                    touched[r].insert(id)
                    let t = AlertStateMachine.step(&a, holds: holds, now: watermark, forMillis: rules[r].forMillis,
                                                   keepFiringForMillis: rules[r].keepFiringForMillis)
                    store(&a, id: id, rule: r, transition: t, changes: &changes, alwaysSave: existing == nil || a != existing!)
                }
            }
        }
        // Time passes for every instance without a row in this flush. Changed instances are
        // collected first and stored after the walk: writing into the dictionary being iterated
        // would copy it once per write.
        var stepped: [(id: Int, a: AlertInstance, t: AlertStateMachine.Transition, changed: Bool)] = []
        for (r, rule) in rules.enumerated() {
            stepped.removeAll(keepingCapacity: true)
            let clock: EpochMillis
            switch rule.condition {
            case .threshold(let op, let threshold):
                guard watermark != .min else { continue }
                clock = watermark
                for (id, var a) in instances[r] where !touched[r].contains(id) {
                    let current = a.windowEnd > watermark ? a.value : nil
                    let holds = current.map { op.holds($0, threshold) } ?? false
                    let before = a
                    let t = AlertStateMachine.step(&a, holds: holds, now: watermark, forMillis: rule.forMillis,
                                                   keepFiringForMillis: rule.keepFiringForMillis)
                    let changed = a != before
                    if changed || a.phase == .resolved { stepped.append((id, a, t, changed)) }
                }
            case .absent(let absentFor):
                clock = now
                for id in absentSeries[r] {
                    guard let seen = series[id].lastSeen else { continue }
                    let holds = now &- seen >= absentFor
                    let existing = instances[r][id]
                    if !holds && (existing == nil || existing!.phase == .inactive) { continue }
                    var a = existing ?? AlertInstance(rule: rule.name, seriesLabels: series[id].key,
                                                      labels: alertLabels(rule, series: series[id].labels, value: nil, samples: 0))
                    a.lastSeen = seen
                    a.samples = series[id].samples
                    let t = AlertStateMachine.step(&a, holds: holds, now: now, forMillis: rule.forMillis,
                                                   keepFiringForMillis: rule.keepFiringForMillis)
                    let changed = existing == nil || a != existing!
                    if changed || a.phase == .resolved { stepped.append((id, a, t, changed)) }
                }
            }
            for var s in stepped {
                store(&s.a, id: s.id, rule: r, transition: s.t, changes: &changes, alwaysSave: s.changed, clock: clock)
            }
        }
        return changes
    }

    /// Sets or removes the instance of rule `r` for series `id`, keeping the series' count.
    private func setInstance(_ r: Int, _ id: Int, _ a: AlertInstance?) {
        let had = instances[r][id] != nil
        instances[r][id] = a
        if had != (a != nil) { series[id].instanceCount += a == nil ? -1 : 1 }
    }

    /// Keeps, saves or forgets `a` after a step.
    private func store(_ a: inout AlertInstance, id: Int, rule r: Int, transition: AlertStateMachine.Transition,
                       changes: inout Changes, alwaysSave: Bool, clock: EpochMillis? = nil) {
        let rule = rules[r]
        switch transition {
        case .fired: changes.fired.append(a)
        case .resolved: changes.resolved.append(a)
        case .none, .becamePending, .cancelled: break
        }
        let forgetResolved = a.phase == .resolved && clock != nil
            && clock! &- (a.resolvedAt ?? clock!) >= config.resolvedRetentionMillis
        if a.phase == .inactive || forgetResolved {
            setInstance(r, id, nil)
            changes.deletions.append((rule.name, a.seriesLabels))
            return
        }
        setInstance(r, id, a)
        if alwaysSave { changes.upserts.append(a) }
    }
}
