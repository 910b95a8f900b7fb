/// Checkpoints: what changed in the engine's state since the previous flush, and restoring the
/// whole state into a new engine.
///
/// A checkpoint is cut inside ``WindowEngine/flush()``, so it covers exactly the events the
/// flush's rows cover. It is incremental: a changed cell is written whole (counts, sums,
/// extremes, its sketch or HyperLogLog registers, tens of bytes to 16 KiB), but an exact distinct
/// set only by the elements added since (8 bytes each), so a week-long set is never rewritten.
/// The change log costs one append per new distinct element and per new label set, and nothing
/// while ``WindowEngine/checkpointing`` is off.
extension WindowEngine {
    /// The fingerprint of each metric's definition (name → 16 hex digits), for
    /// ``WindowEngine/fingerprints``: it covers everything that gives the state its meaning:
    /// events, pipeline (and, for a metric over one, the pipeline's definition), filter,
    /// aggregate, group-by, periods, time zone (the effective one), rolling window, label cap and
    /// distinct limit.
    static func fingerprints(of metrics: [CompiledMetric], pipelines: [QualificationPipelineConfig]) -> [String: String] {
        let pipelineText = Dictionary(pipelines.map { ($0.name, "\($0)") }, uniquingKeysWith: { a, _ in a })
        var out: [String: String] = [:]
        for m in metrics {
            let d = m.definition
            var text = "\(d)|zone=\(m.windowing.timeZone.identifier)|cap=\(m.budget.cap)"
            if let p = d.pipeline { text += "|pipeline=" + (pipelineText[p] ?? "") }
            out[d.name] = fnv1a(text)
        }
        return out
    }

    /// FNV-1a 64 of the UTF-8 bytes, as 16 hex digits: stable across runs and builds (unlike
    /// `Hasher`).
    static func fnv1a(_ text: String) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in text.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01B3
        }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// The checkpoint's cells and new distinct elements, taken at the start of a flush (before
    /// final windows and old panes are freed, which ``finishCheckpoint(_:)`` records).
    func beginCheckpoint() -> EngineCheckpoint {
        var c = EngineCheckpoint(maxEventTime: maxEventTime, nextSerial: nextSerial)
        c.maxEventTimeMoved = maxEventTime != checkpointedMaxEventTime
        checkpointedMaxEventTime = maxEventTime
        c.distinctSerials.reserveCapacity(pendingDistinctCells.count)
        c.distinctHashes.reserveCapacity(pendingDistinctCells.count)
        for (k, ci) in pendingDistinctCells.enumerated() where cells[Int(ci)].distinct != nil {
            c.distinctSerials.append(cellSerials[Int(ci)])
            c.distinctHashes.append(pendingDistinctHashes[k])
        }
        pendingDistinctCells.removeAll(keepingCapacity: true)
        pendingDistinctHashes.removeAll(keepingCapacity: true)
        c.cells.reserveCapacity(dirty.count)
        for ci in dirty where cells[Int(ci)].dirty { c.cells.append(cellCheckpoint(Int(ci))) }
        return c
    }

    /// Adds the freed cells, new label sets, rolling progress and (once) the fingerprints.
    func finishCheckpoint(_ c: inout EngineCheckpoint) {
        c.nextSerial = nextSerial
        c.removed = removedSerials
        removedSerials.removeAll(keepingCapacity: true)
        for (mi, g) in pendingLabelSets {
            let m = metrics[Int(mi)]
            c.labelSets.append((m.definition.name, m.groups.json[Int(g)]))
        }
        pendingLabelSets.removeAll(keepingCapacity: true)
        for r in rollingPanes {
            if let done = r.lastFinal { c.rollingLastFinal[metrics[r.metric].definition.name] = done }
        }
        if !fingerprintsWritten {
            c.fingerprints = fingerprints
            fingerprintsWritten = true
        }
    }

    /// The stored form of cell `ci`.
    func cellCheckpoint(_ ci: Int) -> CellCheckpoint {
        let key = cellKeys[ci]
        let cell = cells[ci]
        let m = metrics[Int(key.metric)]
        let mode: CellCheckpoint.DistinctMode = cell.hll != nil ? .estimated : cell.distinct != nil ? .exact : .none
        return CellCheckpoint(serial: cellSerials[ci], metric: m.definition.name, lane: key.period, windowStart: key.start,
                              windowEnd: cellEnds[ci], labels: m.groups.json[Int(key.group)], samples: cell.samples,
                              sum: cell.sum, min: cell.min, max: cell.max, distinctMode: mode,
                              estimate: cell.hll?.checkpointBytes, sketch: cell.sketch?.checkpointBytes)
    }

    /// What ``restore(_:)`` did.
    public struct RestoreSummary: Sendable, Equatable {
        /// Cells restored.
        public var cells = 0
        /// Exact distinct elements restored.
        public var distinctElements = 0
        /// Label sets restored.
        public var labelSets = 0
        /// Cells skipped: their metric is gone, their lane no longer exists, or a blob was unreadable.
        public var skipped = 0
        public init() {}
    }

    /// Loads a checkpointed state into this engine, which must be new (nothing ingested). The
    /// caller passes only the state of metrics whose ``fingerprints`` are unchanged; cells of
    /// unknown metrics or lanes are skipped. The watermark, label sets (in admission order, so
    /// the caps count them), open windows, rolling panes and their progress, distinct sets,
    /// estimates and sketches come back as they were; restored cells are not dirty (their rows
    /// are already stored).
    @discardableResult
    public func restore(_ state: EngineState) -> RestoreSummary {
        var summary = RestoreSummary()
        var byName: [String: Int] = [:]
        for m in metrics { byName[m.definition.name] = m.index }
        if state.maxEventTime > maxEventTime { maxEventTime = state.maxEventTime }
        if state.nextSerial > nextSerial { nextSerial = state.nextSerial }
        for (name, sets) in state.labelSets {
            guard let mi = byName[name] else { continue }
            let m = metrics[mi]
            for json in sets {
                let g = m.groups.restoreGroup(json: json)
                if json != GroupTable.overflowJSON, !m.budget.contains(g), m.budget.admit(g) { summary.labelSets += 1 }
            }
        }
        for c in state.cells {
            guard let mi = byName[c.metric] else { summary.skipped += 1; continue }
            let plan = plans[mi]
            guard lanes[plan.firstLane..<plan.endLane].contains(where: { $0.code == c.lane }) else {
                summary.skipped += 1
                continue
            }
            let m = metrics[mi]
            var cell = emptyCell(plan)
            cell.samples = c.samples
            cell.sum = c.sum
            cell.min = c.min
            cell.max = c.max
            if let blob = c.sketch {
                guard let sketch = QuantileSketch(checkpoint: blob) else {
                    cell.release()
                    summary.skipped += 1
                    continue
                }
                cell.sketch?.release()
                cell.sketch = sketch
            }
            if c.distinctMode == .estimated, let blob = c.estimate, let hll = HyperLogLog(checkpoint: blob) {
                cell.distinct?.release()
                cell.distinct = nil
                cell.hll = hll
            } else if let hashes = state.distinct[c.serial], cell.distinct != nil {
                for h in hashes { _ = cell.insertDistinct(h) }
                summary.distinctElements += hashes.count
            }
            let g = m.groups.restoreGroup(json: c.labels)
            if c.labels == GroupTable.overflowJSON { overflowGroups[mi] = g }
            let key = CellKey(start: c.windowStart, metric: Int32(mi), group: g, period: c.lane)
            let h = key.hash
            if cellIndex.find(h, where: { cellKeys[Int($0)] == key }) >= 0 {
                cell.release()
                summary.skipped += 1
                continue
            }
            _ = newCell(key, hash: h, end: c.windowEnd, cell, serial: c.serial)
            summary.cells += 1
        }
        for r in rollingPanes.indices {
            if let done = state.rollingLastFinal[metrics[rollingPanes[r].metric].definition.name] {
                rollingPanes[r].lastFinal = done
            }
        }
        // Restoring is not news: nothing of it goes into the next checkpoint but the fingerprints.
        overflowNotices.removeAll()
        pendingLabelSets.removeAll()
        pendingDistinctCells.removeAll()
        pendingDistinctHashes.removeAll()
        fingerprintsWritten = false
        checkpointedMaxEventTime = maxEventTime
        return summary
    }
}
