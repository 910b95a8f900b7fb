/// Evaluates derived metrics (`ratio`, `percent`, `difference`, `change`, `delta`, `share`) over the rows
/// of each flush, and appends the derived rows to the same batch, so that the store and the alert
/// rules see them like any other row.
///
/// - Per (derived metric, period, window, label set) the stage computes a row whenever a row of
///   one of its operands for that window and label set is in the batch (for `change`/`delta`,
///   also when the operand's row of the window just before changes). Operand values not in the
///   batch come from the stage's memory of earlier flushes.
/// - A derived row is final when its window is (`window_end <= watermark`): the operands share the
///   window and the watermark, so all their rows are final by then.
/// - A value that cannot be computed is nil with a ``DerivedReason``, never NaN or ±inf.
/// - Absent rows: an operand with no row for the window and labels counts as 0 when it is a
///   `count`, `sum` or `distinct` (no events is exactly 0 of those), and as missing otherwise.
///
/// Cost: it runs once per flush, never per event: a few dictionary lookups keyed by the row's
/// strings per operand row and per derived row (about 3–4 µs per operand row for a ratio and a
/// delta over it, see docs/benchmarks.md). Memory: per (operand metric, period, label set), one
/// 48-byte entry per open window plus the newest final one (for `change`/`delta`); entries are
/// dropped once the window after them is final. One stage belongs to one thread.
public final class DerivedStage {
    private struct Compiled {
        let definition: DerivedMetricDefinition
        /// Per operand: true when an absent row means 0.
        let absentIsZero: [Bool]
    }

    struct SeriesKey: Hashable {
        var metric: String
        var period: String
        var labels: String
    }

    struct Entry {
        var start: EpochMillis
        var end: EpochMillis
        var value: Double?
        var samples: Int64
        var isFinal: Bool
    }

    private struct Touch: Hashable {
        var period: String
        var start: EpochMillis
        var end: EpochMillis
        var labels: String
    }

    /// In dependency order.
    private let derived: [Compiled]
    /// Derived metric indices reading each metric.
    private let readers: [String: [Int]]
    /// Per series, its windows in start order (usually one to three).
    private var series: [SeriesKey: [Entry]] = [:]
    private var lastPrune: EpochMillis = .min

    /// For the operands of `share`: the label sets each window of theirs has rows for.
    private struct WindowKey: Hashable {
        var metric: String
        var period: String
        var start: EpochMillis
    }
    private var windowLabels: [WindowKey: (end: EpochMillis, labels: Set<String>)] = [:]
    /// Metrics read by a `share`.
    private let sharedOperands: Set<String>

    /// The derived metrics of `config`. Those whose operands are unknown or form a cycle (the
    /// loader rejects both) are left out.
    public init(config: KpidConfig) {
        var additive: [String: Bool] = [:]
        for m in config.metrics { additive[m.name] = Self.absentIsZero(m.aggregate) }
        // Dependency order: a derived metric after the derived metrics it reads.
        var ordered: [DerivedMetricDefinition] = []
        var placed: Set<String> = []
        var pending = config.derivedMetrics
        while true {
            let ready = pending.filter { d in
                d.expr.operands.allSatisfy { additive[$0] != nil || placed.contains($0) }
            }
            if ready.isEmpty { break }
            for d in ready { ordered.append(d); placed.insert(d.name) }
            pending.removeAll { d in placed.contains(d.name) }
        }
        var readers: [String: [Int]] = [:]
        derived = ordered.enumerated().map { i, d in
            for op in Set(d.expr.operands) { readers[op, default: []].append(i) }
            return Compiled(definition: d, absentIsZero: d.expr.operands.map { additive[$0] ?? false })
        }
        self.readers = readers
        sharedOperands = Set(ordered.filter { $0.expr.readsWholeWindow }.flatMap(\.expr.operands))
    }

    /// True when the stage has anything to compute.
    public var isEmpty: Bool { derived.isEmpty }

    /// Metrics whose newest final rows the daemon should load at startup (``seed(_:)``): the
    /// operands of `change` and `delta`.
    public var seedMetrics: [String] {
        var out: [String] = []
        for d in derived where d.definition.expr.readsPreviousWindow {
            for op in d.definition.expr.operands where !out.contains(op) { out.append(op) }
        }
        return out
    }

    /// Remembers final rows written before a restart (the newest final row per metric, period and
    /// label set), so that `change` and `delta` of the first windows after it have a previous one.
    public func seed(_ rows: [AggregateRow]) {
        for r in rows where r.isFinal && readers[r.metric] != nil {
            let key = SeriesKey(metric: r.metric, period: r.period, labels: r.labels)
            remember(r, key: key)
            dropOlderFinals(key)
        }
    }

    /// Entries held in memory (for tests and the memory figures).
    public var heldEntries: Int { series.values.reduce(0) { $0 + $1.count } }

    /// Appends the derived rows of this flush to `batch`.
    public func process(_ batch: inout FlushBatch) {
        guard !derived.isEmpty else { return }
        var touched: [[Touch]] = Array(repeating: [], count: derived.count)
        var seen: [Set<Touch>] = Array(repeating: [], count: derived.count)
        var finalized: Set<SeriesKey> = []

        func touch(_ d: Int, _ t: Touch) {
            if seen[d].insert(t).inserted { touched[d].append(t) }
        }
        func absorb(_ r: AggregateRow) {
            guard let ds = readers[r.metric] else { return }
            let key = SeriesKey(metric: r.metric, period: r.period, labels: r.labels)
            // The window right after this one, when its row is known: its change/delta moved.
            let next = remember(r, key: key)
            if r.isFinal { finalized.insert(key) }
            var window: Set<String> = []
            if sharedOperands.contains(r.metric) {
                let wk = WindowKey(metric: r.metric, period: r.period, start: r.windowStart)
                windowLabels[wk, default: (r.windowEnd, [])].labels.insert(r.labels)
                window = windowLabels[wk]!.labels
            }
            for d in ds {
                if derived[d].definition.expr.readsWholeWindow {
                    // Every label set's share of this window moved.
                    for l in window { touch(d, Touch(period: r.period, start: r.windowStart, end: r.windowEnd, labels: l)) }
                    continue
                }
                touch(d, Touch(period: r.period, start: r.windowStart, end: r.windowEnd, labels: r.labels))
                if let next, derived[d].definition.expr.readsPreviousWindow {
                    touch(d, Touch(period: r.period, start: next.start, end: next.end, labels: r.labels))
                }
            }
        }

        for r in batch.rows { absorb(r) }
        for d in derived.indices {
            // `share`: a window's total, summed once per derived metric and window, not per label set.
            var totals: [WindowKey: Double] = [:]
            for t in touched[d] {
                let row = evaluate(d, t, watermark: batch.watermark, totals: &totals)
                batch.rows.append(row)
                absorb(row)
            }
        }
        for key in finalized { dropOlderFinals(key) }
        prune(watermark: batch.watermark)
    }

    // MARK: Evaluation

    private func entry(_ metric: String, _ t: Touch) -> Entry? {
        series[SeriesKey(metric: metric, period: t.period, labels: t.labels)]?.first { $0.start == t.start }
    }

    /// The operand's value for the window: its row's value, 0 for an absent additive operand,
    /// nil when missing.
    private func operand(_ d: Compiled, _ i: Int, _ t: Touch) -> (value: Double?, samples: Int64) {
        if let e = entry(d.definition.expr.operands[i], t) { return (e.value, e.samples) }
        return (d.absentIsZero[i] ? 0 : nil, 0)
    }

    private func evaluate(_ di: Int, _ t: Touch, watermark: EpochMillis, totals: inout [WindowKey: Double]) -> AggregateRow {
        let d = derived[di]
        var row = AggregateRow(metric: d.definition.name, period: t.period, windowStart: t.start, windowEnd: t.end,
                               labels: t.labels, value: nil, samples: 0, isFinal: t.end <= watermark)
        switch d.definition.expr {
        case .ratio, .percent:
            let a = operand(d, 0, t), b = operand(d, 1, t)
            row.numerator = a.value
            row.denominator = b.value
            row.samples = b.samples
            guard let x = a.value, let y = b.value else { return failed(row, .missingOperand) }
            guard y != 0 else { return failed(row, .divisionByZero) }
            var q = x / y
            if case .percent = d.definition.expr { q *= 100 }
            guard q.isFinite else { return failed(row, .divisionByZero) }
            row.value = q
        case .difference:
            let a = operand(d, 0, t), b = operand(d, 1, t)
            row.samples = max(a.samples, b.samples)
            guard let x = a.value, let y = b.value else { return failed(row, .missingOperand) }
            let v = x - y
            guard v.isFinite else { return failed(row, .missingOperand) }
            row.value = v
        case .share(let name):
            let cur = entry(name, t)
            let total = shareTotal(name, t, &totals)
            row.samples = cur?.samples ?? 0
            row.numerator = cur?.value
            row.denominator = total
            guard let x = cur?.value else { return failed(row, .missingOperand) }
            guard total != 0 else { return failed(row, .divisionByZero) }
            let v = x / total
            guard v.isFinite else { return failed(row, .divisionByZero) }
            row.value = v
        case .change(let name), .delta(let name):
            let cur = entry(name, t)
            row.samples = cur?.samples ?? 0
            row.numerator = cur?.value
            guard let x = cur?.value else { return failed(row, .missingOperand) }
            let key = SeriesKey(metric: name, period: t.period, labels: t.labels)
            guard let prev = series[key]?.first(where: { $0.end == t.start }) else {
                return failed(row, .noPreviousWindow)
            }
            row.denominator = prev.value
            guard let p = prev.value else { return failed(row, .missingOperand) }
            if case .change = d.definition.expr {
                guard p != 0 else { return failed(row, .divisionByZero) }
                let v = (x - p) / p
                guard v.isFinite else { return failed(row, .divisionByZero) }
                row.value = v
            } else {
                let v = x - p
                guard v.isFinite else { return failed(row, .missingOperand) }
                row.value = v
            }
        }
        return row
    }

    /// The sum of `metric`'s values over every label set of the window of `t`, computed once per
    /// window and kept in `totals` (the operand's rows do not change while a metric is evaluated).
    private func shareTotal(_ metric: String, _ t: Touch, _ totals: inout [WindowKey: Double]) -> Double {
        let wk = WindowKey(metric: metric, period: t.period, start: t.start)
        if let known = totals[wk] { return known }
        var total = 0.0
        for l in windowLabels[wk]?.labels ?? [] {
            if let v = entry(metric, Touch(period: t.period, start: t.start, end: t.end, labels: l))?.value { total += v }
        }
        totals[wk] = total
        return total
    }

    private func failed(_ row: AggregateRow, _ reason: DerivedReason) -> AggregateRow {
        var r = row
        r.value = nil
        r.reason = reason.rawValue
        return r
    }

    // MARK: Memory

    /// Records the row's value; returns the series' entry of the window right after the row's.
    @discardableResult
    private func remember(_ r: AggregateRow, key: SeriesKey) -> Entry? {
        let e = Entry(start: r.windowStart, end: r.windowEnd, value: r.value, samples: r.samples, isFinal: r.isFinal)
        // In place (the dictionary's modify accessor): no copy of the list.
        return Self.upsert(e, into: &series[key, default: []])
    }

    private static func upsert(_ e: Entry, into list: inout [Entry]) -> Entry? {
        if let i = list.firstIndex(where: { $0.start == e.start }) {
            if !list[i].isFinal { list[i] = e } // a final value never changes
        } else {
            let at = list.firstIndex { $0.start > e.start } ?? list.endIndex
            list.insert(e, at: at)
        }
        return list.first { $0.start == e.end }
    }

    /// Keeps the newest final entry of a series (the previous window of the next one) and what is
    /// newer than it.
    private func dropOlderFinals(_ key: SeriesKey) {
        guard let newest = series[key]?.lastIndex(where: { $0.isFinal }), newest > 0 else { return }
        series[key]?.removeFirst(newest)
    }

    /// Forgets entries whose next window must be final too: ended more than twice their length
    /// before the watermark (the next calendar window is at most 31/28 as long). Runs when the
    /// watermark moved by a minute or more.
    private func prune(watermark wm: EpochMillis) {
        guard wm != .min, lastPrune == .min || wm - lastPrune >= 60_000 else { return }
        lastPrune = wm
        windowLabels = windowLabels.filter { k, w in wm - w.end <= 2 * (w.end - k.start) }
        for (key, list) in series {
            let kept = list.filter { e in wm - e.end <= 2 * (e.end - e.start) }
            if kept.isEmpty {
                series[key] = nil
            } else if kept.count != list.count {
                series[key] = kept
            }
        }
    }

    static func absentIsZero(_ a: AggregateSpec) -> Bool {
        switch a {
        case .count, .sum, .distinct: return true
        default: return false
        }
    }
}
