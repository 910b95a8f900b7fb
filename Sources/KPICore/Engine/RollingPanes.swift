/// The panes of one metric's rolling window: which cells hold each `step` of event time, and
/// which step boundaries have been emitted final.
///
/// The pane cells themselves live in the engine's cell table (so the hot path folds an event
/// into a pane exactly as into a calendar window); this keeps their pane starts in order, so
/// that a window `[B - span, B)` is a contiguous run of panes. Memory: the cell indices plus
/// one sorted pane start per pane. Only the engine's flush and new-cell paths touch it.
struct RollingPanes {
    let metric: Int
    let window: RollingWindow
    let isDistinct: Bool
    /// Starts of the panes holding cells, ascending.
    private(set) var starts: [Int64] = []
    /// The cells of each pane (one per label set that had events in it).
    private(set) var cellsByPane: [Int64: [Int32]] = [:]
    /// The last boundary emitted final (every boundary up to it is done), or nil before any.
    var lastFinal: Int64?
    /// Label sets (groups) whose panes changed since the last flush.
    var dirtyGroups: Set<Int32> = []

    init(metric: Int, window: RollingWindow, isDistinct: Bool) {
        self.metric = metric
        self.window = window
        self.isDistinct = isDistinct
    }

    /// Records that cell `cell` holds the pane starting at `paneStart`.
    mutating func add(cell: Int32, paneStart: Int64) {
        if cellsByPane[paneStart] == nil {
            // Events mostly arrive in time order: the new pane is usually the last one.
            if let last = starts.last, last > paneStart {
                starts.insert(paneStart, at: firstPane(atOrAfter: paneStart))
            } else {
                starts.append(paneStart)
            }
        }
        cellsByPane[paneStart, default: []].append(cell)
    }

    /// Index in ``starts`` of the first pane starting at or after `t`.
    func firstPane(atOrAfter t: Int64) -> Int {
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] < t { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// The starts of the panes of the window ending at boundary `end`: `[end - span, end)`.
    func panes(ofWindowEndingAt end: Int64) -> ArraySlice<Int64> {
        starts[firstPane(atOrAfter: end - window.spanMillis)..<firstPane(atOrAfter: end)]
    }

    /// The cells of the panes of the window ending at boundary `end`.
    func cells(ofWindowEndingAt end: Int64) -> [Int32] {
        var out: [Int32] = []
        for p in panes(ofWindowEndingAt: end) { out += cellsByPane[p]! }
        return out
    }

    /// Number of cells in the panes of the window ending at boundary `end`.
    func cellCount(ofWindowEndingAt end: Int64) -> Int {
        panes(ofWindowEndingAt: end).reduce(0) { $0 + cellsByPane[$1]!.count }
    }

    /// The step boundaries that the watermark `wm` has reached since ``lastFinal`` and whose
    /// window holds at least one pane, ascending; stretches without panes are skipped, so a
    /// jump of the watermark costs nothing per empty boundary.
    func boundariesToFinalize(watermark wm: Int64) -> [Int64] {
        guard wm != .min, let first = starts.first else { return [] }
        let step = window.stepMillis, span = window.spanMillis
        let top = floorDiv(wm, step) * step
        var b = first + step
        if let done = lastFinal, done + step > b { b = done + step }
        var out: [Int64] = []
        var k = firstPane(atOrAfter: b - span)
        while b <= top {
            while k < starts.count, starts[k] < b - span { k += 1 }
            if k == starts.count { break }
            if starts[k] >= b {
                // No pane in [b - span, b): the next window with data ends one step after it.
                b = starts[k] + step
                continue
            }
            out.append(b)
            b += step
        }
        return out
    }

    /// Marks every boundary up to the one at or below `wm` as emitted, and removes the panes no
    /// later window can contain (those starting before `lastFinal + step - span`), returning
    /// their cells for the engine to free.
    mutating func finish(watermark wm: Int64) -> [Int32] {
        guard wm != .min else { return [] }
        let top = floorDiv(wm, window.stepMillis) * window.stepMillis
        if let done = lastFinal, done >= top { return [] }
        lastFinal = top
        let keepFrom = top + window.stepMillis - window.spanMillis
        let cut = firstPane(atOrAfter: keepFrom)
        guard cut > 0 else { return [] }
        var freed: [Int32] = []
        for p in starts[..<cut] { freed += cellsByPane.removeValue(forKey: p)! }
        starts.removeFirst(cut)
        return freed
    }
}
