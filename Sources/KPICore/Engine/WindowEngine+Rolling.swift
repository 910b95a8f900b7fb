/// Rolling windows at flush time: the values of the windows ending at the step boundaries the
/// watermark passed (final), the current value of the label sets that changed (not final), and
/// the panes no window needs any more (freed).
extension WindowEngine {
    /// Appends the rolling rows of this flush to `batch` (see ``RollingPanes``).
    ///
    /// - Final: for every step boundary `B <= watermark` not emitted yet, one row per label set
    ///   with events in `[B - span, B)`. These values never change again: an event that could
    ///   still enter them is late, because its pane ends at or before `B`.
    /// - Live: for the label sets whose panes changed since the last flush, the value of the
    ///   window ending at the boundary after the largest event time seen (`final = 0`, rewritten
    ///   as it changes, and written final once the watermark reaches it).
    ///
    /// Cost: a merge of the window's pane cells per emitted row: `span / step` cells per label
    /// set and boundary.
    func flushRolling(into batch: inout FlushBatch) {
        let wm = watermark
        for r in rollingPanes.indices {
            do {
                let panes = rollingPanes[r]
                for b in panes.boundariesToFinalize(watermark: wm) {
                    appendRollingRows(panes, end: b, only: nil, final: true, to: &batch)
                }
                if !panes.dirtyGroups.isEmpty, maxEventTime != .min {
                    let step = panes.window.stepMillis
                    let live = floorDiv(maxEventTime, step) * step + step
                    appendRollingRows(panes, end: live, only: panes.dirtyGroups, final: false, to: &batch)
                }
            }
            rollingPanes[r].dirtyGroups.removeAll(keepingCapacity: true)
            for ci in rollingPanes[r].finish(watermark: wm) { freeCell(ci) }
        }
    }

    /// One row per label set (restricted to `only` when given) of the window ending at `end`.
    ///
    /// The window's cells are scanned, or, when few label sets changed (fewer lookups than cells),
    /// each changed label set's pane cells are looked up in the cell index instead.
    private func appendRollingRows(_ panes: RollingPanes, end: Int64, only: Set<Int32>?, final: Bool,
                                   to batch: inout FlushBatch) {
        var merged: [Int32: AggregateCell] = [:]
        let starts = panes.panes(ofWindowEndingAt: end)
        if let only, only.count * starts.count < panes.cellCount(ofWindowEndingAt: end) {
            for g in only {
                for p in starts {
                    let key = CellKey(start: p, metric: Int32(panes.metric), group: g, period: WindowLane.paneCode)
                    let ci = cellIndex.find(key.hash) { cellKeys[Int($0)] == key }
                    if ci >= 0 { merged[g, default: emptyCell(metric: panes.metric)].merge(cells[Int(ci)]) }
                }
            }
        } else {
            for ci in panes.cells(ofWindowEndingAt: end) {
                let g = cellKeys[Int(ci)].group
                if let only, !only.contains(g) { continue }
                merged[g, default: emptyCell(metric: panes.metric)].merge(cells[Int(ci)])
            }
        }
        let window = panes.window
        for g in merged.keys.sorted() {
            let cell = merged[g]!
            appendRows(metric: panes.metric, group: g, period: window.period, start: end - window.spanMillis, end: end,
                       cell: cell, final: final, to: &batch.rows)
            cell.release()
        }
    }
}
