/// Deferred counts: events of a `count` stream (the qualification health streams) counted per
/// (metric, label set, window) in a small table on the hot path and folded into their cells once
/// per flush, instead of one ``WindowEngine/ingest(typeID:timestamp:slots:)`` per event.
///
/// The result is the same as ingesting each event: lateness is decided on arrival, against the
/// watermark at that moment (a late event is counted in ``WindowEngine/lateEvents`` and never
/// folded in), label sets are admitted on arrival (so caps and overflow count as they would), and
/// the counts go into the cells at the start of ``WindowEngine/flush()``, before final windows are
/// cut and before the checkpoint is taken: the cells they touch are dirty like any other, so their
/// rows and their checkpoint are those of a per-event fold.
///
/// Cost per event: usually four comparisons and one increment per window lane (the key's
/// shortcut: its last event's windows); else per lane one windowing lookup (two comparisons
/// while in a recent window) and one comparison against the lane's last table entry. The label
/// set is resolved once per caller key while it stays admitted. The table holds one 40-byte entry per (metric, label
/// set, window) touched since the last flush; it allocates only when it grows.
struct DeferredCounts {
    /// One (metric, label set, window) and the events counted for it since the last flush.
    struct Entry {
        var window: WindowBounds
        var count: Int64
        var metric: Int32, group: Int32, lane: Int32
    }

    var entries: ContiguousArray<Entry> = []
    /// Per (caller key, lane), the entry that key last counted into, or -1.
    var lastEntry: ContiguousArray<Int32> = []
    /// Per (caller key, metric), the admitted group of the key's label set, or -1 (unknown).
    var groups: ContiguousArray<Int32> = []
    /// Lanes and metrics per key, for the tables above and below.
    var lanesPerKey = 0
    var metricsPerKey = 0

    /// Per caller key, the stretch of event time `[start, end)` inside every window its last
    /// event was counted in, when that event was late for no lane and its label sets were
    /// admitted: a later event of the key in that stretch, and not late for it, goes to the
    /// same entries (`entries` per key in `shortcutEntries`), with no window lookup.
    struct Shortcut {
        var stream = -1
        var flush = -1
        var start: Int64 = 0
        var end: Int64 = 0
        var entries = 0
    }
    var shortcuts: ContiguousArray<Shortcut> = []
    var shortcutEntries: ContiguousArray<Int32> = []
    /// Flushes so far: a shortcut taken before the last flush names entries that are gone.
    var flushes = 0
}

extension WindowEngine {
    /// Whether ``count(deferred:key:timestamp:slots:)`` can take the events of `stream`: every
    /// metric reading it is a `count` with no filter.
    public func canDeferCounts(_ stream: Int) -> Bool {
        typeMetrics.range(stream).allSatisfy { k in
            let plan = plans[typeMetrics.elements[k]]
            return plan.filter == nil && plan.valueSlot < 0 && !plan.isDistinct && !plan.isQuantile
        }
    }

    /// Counts an event of `stream` (see ``canDeferCounts(_:)``) at event time `ts` whose label
    /// fields are `slots`, as ``ingest(typeID:timestamp:slots:)`` would, but folds the count into
    /// its cells only at the next ``flush()``. `key` identifies the label values: the same key
    /// must always come with the same label values (for example, one key per ready-made slot
    /// buffer); keys are small non-negative integers.
    @inline(__always)
    public func count(deferred stream: Int, key: Int, timestamp ts: EpochMillis, slots: UnsafeBufferPointer<FieldValue>) {
        if ts > maxEventTime { maxEventTime = ts }
        let wm = watermark
        if key < deferred.shortcuts.count {
            let s = deferred.shortcuts[key]
            if s.stream == stream, s.flush == deferred.flushes, ts >= s.start, ts < s.end, s.end > wm {
                let base = key &* deferred.lanesPerKey
                for j in 0..<s.entries { deferred.entries[Int(deferred.shortcutEntries[base &+ j])].count &+= 1 }
                eventsCounted += 1
                return
            }
        }
        countSlowly(stream, key: key, timestamp: ts, watermark: wm, slots: slots)
    }

    /// ``count(deferred:key:timestamp:slots:)`` without its shortcut: every lane's window and
    /// lateness, then a new shortcut when the event was late for no lane.
    private func countSlowly(_ stream: Int, key: Int, timestamp ts: EpochMillis, watermark wm: EpochMillis,
                             slots: UnsafeBufferPointer<FieldValue>) {
        var counted = false
        var shortcut = DeferredCounts.Shortcut(stream: stream, flush: deferred.flushes, start: .min, end: .max)
        var usable = true
        for k in typeMetrics.range(stream) {
            let mi = typeMetrics.elements[k]
            let plan = plans[mi]
            // The label set is resolved at the first window the event is not late for.
            var group: Int32?
            var late = false
            for l in plan.firstLane..<plan.endLane {
                let w = window(of: lanes[l], plan, containing: ts)
                guard w.end > wm else {
                    if !late { lateEvents[mi] += 1 } // one late event per metric, as `ingest` counts
                    late = true
                    usable = false
                    continue
                }
                let g = group ?? deferredGroup(plan, mi, key: key, slots)
                group = g
                let e = addDeferred(key: key, lane: l, metric: mi, group: g, window: w)
                counted = true
                if usable, plan.budget._withUnsafeGuaranteedRef({ $0.contains(g) }) {
                    shortcut.start = max(shortcut.start, w.start)
                    shortcut.end = min(shortcut.end, w.end)
                    deferred.shortcutEntries[key &* deferred.lanesPerKey &+ shortcut.entries] = e
                    shortcut.entries += 1
                } else {
                    usable = false
                }
            }
        }
        if counted { eventsCounted += 1 }
        if key < deferred.shortcuts.count { deferred.shortcuts[key] = usable && counted ? shortcut : DeferredCounts.Shortcut() }
    }

    /// The group of the label set of `key` for metric `mi`, resolved as `ingest` resolves it and
    /// remembered while the metric's budget holds it (an overflowed event is resolved again,
    /// so that each one is counted in ``labelOverflows``).
    @inline(__always)
    private func deferredGroup(_ plan: MetricPlan, _ mi: Int, key: Int, _ slots: UnsafeBufferPointer<FieldValue>) -> Int32 {
        let slot = key &* deferred.metricsPerKey &+ mi
        if slot < deferred.groups.count {
            let g = deferred.groups[slot]
            if g >= 0 && plan.budget._withUnsafeGuaranteedRef({ $0.contains(g) }) { return g }
        }
        // A number of its own for the label table's per-event memo: `slots` are not the fields
        // of the event that the last `ingest` saw (and `ingest(sameEvent:)` then misses the memo).
        eventNumber &+= 1
        let group = resolveGroup(plan, mi, slots)
        if plan.budget._withUnsafeGuaranteedRef({ $0.contains(group) }) {
            growDeferredTables(key: key)
            deferred.groups[key &* deferred.metricsPerKey &+ mi] = group
        }
        return group
    }

    /// Adds one to the table entry of (`metric`, `group`, the window `w` of lane `lane`).
    @inline(__always)
    private func addDeferred(key: Int, lane l: Int, metric mi: Int, group: Int32, window w: WindowBounds) -> Int32 {
        let memo = key &* deferred.lanesPerKey &+ l
        if memo < deferred.lastEntry.count {
            let e = Int(deferred.lastEntry[memo])
            if e >= 0 && e < deferred.entries.count {
                let found = deferred.entries.withUnsafeMutableBufferPointer { entries -> Bool in
                    guard entries[e].window.start == w.start, entries[e].group == group, entries[e].lane == Int32(l),
                          entries[e].metric == Int32(mi) else { return false }
                    entries[e].count &+= 1
                    return true
                }
                if found { return Int32(e) }
            }
        }
        return addDeferredSlowly(key: key, lane: l, metric: mi, group: group, window: w)
    }

    /// ``addDeferred(key:lane:metric:group:window:)`` when the lane's last entry is another one:
    /// a scan of the table (a few entries per flush), or a new entry.
    @inline(never)
    private func addDeferredSlowly(key: Int, lane l: Int, metric mi: Int, group: Int32, window w: WindowBounds) -> Int32 {
        growDeferredTables(key: key)
        var found = -1
        for (i, e) in deferred.entries.enumerated()
        where e.window.start == w.start && e.group == group && e.lane == Int32(l) && e.metric == Int32(mi) {
            found = i
            break
        }
        if found < 0 {
            found = deferred.entries.count
            deferred.entries.append(DeferredCounts.Entry(window: w, count: 0, metric: Int32(mi), group: group, lane: Int32(l)))
        }
        deferred.entries[found].count &+= 1
        deferred.lastEntry[key &* deferred.lanesPerKey &+ l] = Int32(found)
        return Int32(found)
    }

    /// Sizes the per-key tables for keys up to `key`.
    private func growDeferredTables(key: Int) {
        if deferred.lanesPerKey == 0 {
            deferred.lanesPerKey = lanes.count
            deferred.metricsPerKey = plans.count
        }
        let keys = key + 1
        if deferred.lastEntry.count < keys * deferred.lanesPerKey {
            deferred.lastEntry.append(contentsOf: repeatElement(-1, count: keys * deferred.lanesPerKey - deferred.lastEntry.count))
        }
        if deferred.groups.count < keys * deferred.metricsPerKey {
            deferred.groups.append(contentsOf: repeatElement(-1, count: keys * deferred.metricsPerKey - deferred.groups.count))
        }
        if deferred.shortcuts.count < keys {
            deferred.shortcuts.append(contentsOf: repeatElement(DeferredCounts.Shortcut(), count: keys - deferred.shortcuts.count))
            deferred.shortcutEntries.append(contentsOf: repeatElement(-1, count: keys * deferred.lanesPerKey - deferred.shortcutEntries.count))
        }
    }

    /// Folds the deferred counts into their cells (new cells are added to their windows as
    /// `ingest` adds them) and marks the cells dirty. Called at the start of ``flush()``.
    func foldDeferredCounts() {
        deferred.flushes &+= 1
        guard !deferred.entries.isEmpty else { return }
        for e in deferred.entries where e.count > 0 {
            let plan = plans[Int(e.metric)]
            let key = CellKey(start: e.window.start, metric: e.metric, group: e.group, period: lanes[Int(e.lane)].code)
            let h = key.hash
            var found = cellIndex.find(h) { cellKeys[Int($0)] == key }
            if found < 0 { found = newCell(key, hash: h, end: e.window.end, emptyCell(plan)) }
            let ci = Int(found)
            cells[ci].samples &+= e.count
            if !cells[ci].dirty {
                cells[ci].dirty = true
                dirty.append(Int32(ci))
            }
        }
        deferred.entries.removeAll(keepingCapacity: true)
    }
}
