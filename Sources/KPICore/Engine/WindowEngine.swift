import Foundation

/// The event-time window engine: it folds events into calendar windows per metric and label
/// set, tracks the watermark, counts late events and hands changed rows to the store.
///
/// - Event time: the watermark is the largest `ts` seen minus the allowed lateness. A window is
///   final once the watermark reaches its end; an event for a final window is *late*: it is
///   counted per metric (``lateEvents``) and not folded in. Lateness is decided on arrival, so
///   the same events in the same order always give the same numbers.
/// - Memory: one ``AggregateCell`` per open (metric, period, window, label set), plus the
///   label sets seen per metric. Final windows are emitted once and freed. A rolling window
///   keeps one cell per pane (`step`) and label set for the `span` (see ``RollingPanes`` and
///   `WindowEngine+Rolling.swift`). Each metric admits at most its `max_label_sets` label sets
///   (``LabelBudget``); events of further ones are folded into `{"__overflow__":"true"}`.
/// - Cost per event: one type lookup, then per metric of that type a filter evaluation, a
///   label-set hash and ``HashIndex`` probe, and per period a window lookup (usually two
///   comparisons) and a ``HashIndex`` probe for the cell. No allocation except for a new label
///   set, window or distinct element; no reference counting (see ``MetricPlan``).
///
/// The engine does no I/O and never reads a clock: callers pass event times. One engine belongs
/// to one thread.
public final class WindowEngine: @unchecked Sendable {
    /// The fields the decoder must extract for this engine.
    public let catalog: FieldCatalog
    public let allowedLateness: EpochMillis
    /// Immutable after init (their label tables are classes), so the hot path reads them
    /// without copying or reference counting.
    let metrics: [CompiledMetric]
    private let typeIndex: [String: Int]
    private let typeBytes: [[UInt8]]
    /// Metric indices per event type (raw types, then pipeline and health streams).
    private let metricsByType: [[Int]]

    // The hot path's view of `metrics` and `metricsByType`, derived at the end of init as plain
    // values (see ``MetricPlan``), so that `ingest` does no reference counting and no uniqueness
    // checks. Whatever adds types or metrics must do so before they are derived (or derive them
    // again): `ingest` reads only these.
    /// Per metric index.
    let plans: ContiguousArray<MetricPlan>
    /// The window lanes of metric `mi` are `lanes[plans[mi].firstLane ..< plans[mi].endLane]`.
    let lanes: ContiguousArray<WindowLane>
    /// `metricsByType`, packed.
    let typeMetrics: PackedLists<Int>
    /// `typeBytes`, packed for the byte-level `typeID`.
    private let typeNames: TypeNames

    struct CellKey: Equatable {
        var start: Int64
        var metric: Int32
        var group: Int32
        var period: Int32
        /// The key's hash in ``cellIndex``.
        @inline(__always)
        var hash: UInt64 {
            ValueHash.mix(UInt64(bitPattern: start) &* 0x9E37_79B9_7F4A_7C15
                ^ (UInt64(UInt32(bitPattern: metric)) << 40 | UInt64(UInt32(bitPattern: period)) << 32 | UInt64(UInt32(bitPattern: group))))
        }
    }
    struct WindowKey: Hashable {
        var start: Int64
        var metric: Int32
        var period: Int32
    }
    struct OpenWindow {
        var end: Int64
        var cells: [Int32]
    }

    /// Open cells by key hash (verified against `cellKeys`).
    let cellIndex = HashIndex(capacity: 1024)
    var cells: ContiguousArray<AggregateCell> = []
    var cellKeys: ContiguousArray<CellKey> = []
    var cellEnds: ContiguousArray<Int64> = []
    var freeCells: [Int32] = []
    var dirty: [Int32] = []
    /// The panes of each rolling metric, and per metric index its entry there or -1.
    var rollingPanes: [RollingPanes] = []
    var rollingIndex: [Int] = []
    var openWindows: [WindowKey: OpenWindow] = [:]

    /// Largest event time seen, or `Int64.min` before the first event.
    public internal(set) var maxEventTime: EpochMillis = .min
    /// Late events per metric index (see ``metricNames``).
    public internal(set) var lateEvents: [Int64]
    /// Events refused by one metric, per metric index and reason.
    public private(set) var metricRejects: [[MetricRejectReason: Int64]]
    /// Events folded into at least one metric.
    public internal(set) var eventsCounted: Int64 = 0
    /// Events counted under the overflow label set, per metric index, because the metric had
    /// reached its `max_label_sets`.
    public private(set) var labelOverflows: [Int64]
    /// Windows that received their first overflowed event since the last flush.
    var overflowNotices: [LabelOverflowNotice] = []
    /// Per metric index, the overflow group of its label table once it overflowed, else -1.
    var overflowGroups: [Int32]
    /// Numbers the events given to `ingest` (from 1), for ``GroupTable``'s per-event memo.
    var eventNumber: UInt64 = 0
    /// Counts of `count` streams not folded in yet (see `WindowEngine+Counts.swift`).
    var deferred = DeferredCounts()

    // Checkpointing (see `WindowEngine+Checkpoint.swift`).
    /// When true, each ``flush()`` also returns what changed in the state
    /// (``FlushBatch/checkpoint``). Off by default: the engine then keeps no change log.
    public var checkpointing = false
    /// Per cell index, the cell's serial (see ``CellCheckpoint/serial``).
    var cellSerials: ContiguousArray<Int64> = []
    var nextSerial: Int64 = 1
    /// New exact distinct elements since the last checkpoint: cell index and hash.
    var pendingDistinctCells: ContiguousArray<Int32> = []
    var pendingDistinctHashes: ContiguousArray<UInt64> = []
    /// Serials of the cells freed since the last checkpoint.
    var removedSerials: [Int64] = []
    /// Label sets admitted since the last checkpoint: metric index and group.
    var pendingLabelSets: [(metric: Int32, group: Int32)] = []
    /// Whether the metric fingerprints went into a checkpoint since start (or restore).
    var fingerprintsWritten = false
    /// The fingerprint of each metric's definition (name → 16 hex digits), computed once: a
    /// restore keeps the state of a metric only when its fingerprint is unchanged (see
    /// `WindowEngine+Checkpoint.swift`).
    public let fingerprints: [String: String]
    /// ``maxEventTime`` as of the last checkpoint.
    var checkpointedMaxEventTime: EpochMillis = .min

    /// Builds the engine for a validated config.
    ///
    /// Streams: ids `0..<eventTypes.count` are raw event types (found with ``typeID(_:)``); after
    /// them come one stream per qualification pipeline (``pipelineStream(_:)``), whose metrics
    /// read the pipeline's qualified output, and the two health streams of ``QualificationHealth``.
    /// All are folded in with ``ingest(typeID:timestamp:slots:)``.
    public init(config: KpidConfig) {
        var catalog = FieldCatalog()
        let zone = TimeZone(identifier: config.timeZone) ?? TimeZone(identifier: "UTC")!
        var compiled: [CompiledMetric] = []
        var groupTables: [[String]: GroupTable] = [:]
        for (i, def) in config.metrics.enumerated() {
            compiled.append(CompiledMetric(def, index: i, defaultZone: zone, catalog: &catalog, groupTables: &groupTables,
                                           maxLabelSets: config.maxLabelSets))
        }
        if config.trackSequences {
            catalog.slot(for: SequenceTracker.sourceField)
            catalog.slot(for: SequenceTracker.sequenceField)
        }
        // Fields the pipelines read are extracted too.
        for p in config.pipelines {
            for f in QualificationHealth.fields(of: p) { catalog.slot(for: f) }
        }
        // Tenant fields of publisher permissions are read before any metric.
        for p in config.publishers where p.tenants != nil { catalog.slot(for: p.tenantField) }
        // The health metrics read their own small catalog (their streams carry their own slots),
        // so their label tables are their own too.
        var healthCatalog = QualificationHealth.catalog
        var healthTables: [[String]: GroupTable] = [:]
        let health = config.pipelines.isEmpty ? [] : QualificationHealth.metrics
        for def in health {
            compiled.append(CompiledMetric(def, index: compiled.count, defaultZone: zone,
                                           catalog: &healthCatalog, groupTables: &healthTables,
                                           maxLabelSets: config.maxLabelSets))
        }
        var typeIndex: [String: Int] = [:]
        var typeBytes: [[UInt8]] = []
        var metricsByType: [[Int]] = []
        func rawType(_ t: String) -> Int {
            if let existing = typeIndex[t] { return existing }
            let id = typeBytes.count
            typeIndex[t] = id
            typeBytes.append(Array(t.utf8))
            metricsByType.append([])
            return id
        }
        for m in compiled where m.definition.pipeline == nil && m.index < config.metrics.count {
            for t in m.definition.events { metricsByType[rawType(t)].append(m.index) }
        }
        for p in config.pipelines {
            for t in p.events { _ = rawType(t) }
        }
        var pipelineStreams: [String: Int] = [:]
        for p in config.pipelines {
            pipelineStreams[p.name] = metricsByType.count
            metricsByType.append(compiled.filter { $0.definition.pipeline == p.name }.map(\.index))
        }
        if !health.isEmpty {
            healthInputStream = metricsByType.count
            metricsByType.append([config.metrics.count])
            healthDroppedStream = metricsByType.count
            metricsByType.append([config.metrics.count + 1])
        }
        self.pipelineStreams = pipelineStreams
        self.fingerprints = Self.fingerprints(of: compiled, pipelines: config.pipelines)
        self.catalog = catalog
        self.metrics = compiled
        self.allowedLateness = config.allowedLatenessMillis
        self.typeIndex = typeIndex
        self.typeBytes = typeBytes
        self.metricsByType = metricsByType
        lateEvents = Array(repeating: 0, count: compiled.count)
        metricRejects = Array(repeating: [:], count: compiled.count)
        labelOverflows = Array(repeating: 0, count: compiled.count)
        overflowGroups = Array(repeating: -1, count: compiled.count)
        rollingIndex = Array(repeating: -1, count: compiled.count)
        for m in compiled {
            guard let r = m.definition.rolling else { continue }
            rollingIndex[m.index] = rollingPanes.count
            rollingPanes.append(RollingPanes(metric: m.index, window: r, isDistinct: m.isDistinct))
        }

        var plans = ContiguousArray<MetricPlan>()
        var lanes = ContiguousArray<WindowLane>()
        for m in compiled {
            let first = lanes.count
            lanes.append(contentsOf: WindowLane.lanes(of: m))
            plans.append(MetricPlan(m, lanes: first..<lanes.count))
        }
        self.plans = plans
        self.lanes = lanes
        self.typeMetrics = PackedLists(metricsByType)
        self.typeNames = TypeNames(typeBytes)
    }

    deinit {
        for i in cells.indices { cells[i].release() }
    }

    private var pipelineStreams: [String: Int] = [:]
    /// Stream of ``QualificationHealth/inputMetric`` (events a pipeline examined), or -1 without pipelines.
    public private(set) var healthInputStream = -1
    /// Stream of ``QualificationHealth/droppedMetric`` (events a filter dropped), or -1 without pipelines.
    public private(set) var healthDroppedStream = -1

    /// The stream whose metrics read the qualified output of the pipeline named `name`.
    public func pipelineStream(_ name: String) -> Int? { pipelineStreams[name] }

    /// Metric names by index.
    public var metricNames: [String] { metrics.map(\.definition.name) }

    /// The event types some metric reads.
    public var eventTypes: [String] { typeBytes.map { String(decoding: $0, as: UTF8.self) } }

    /// The watermark: the largest event time seen minus the allowed lateness.
    public var watermark: EpochMillis {
        maxEventTime == .min ? .min : maxEventTime &- allowedLateness
    }

    /// Open cells (metric, period, window, label set) held in memory.
    public var openCellCount: Int { cellIndex.count }

    /// The id of an event type given as UTF-8 bytes, or nil when no metric reads it.
    /// No allocation: compares bytes against the few configured types.
    @inline(__always)
    public func typeID(_ bytes: UnsafeRawBufferPointer) -> Int? {
        typeNames.index(of: bytes)
    }

    /// The id of an event type given as a string.
    public func typeID(_ name: String) -> Int? { typeIndex[name] }

    /// The outcome of folding one event in.
    public struct IngestOutcome: Sendable {
        /// Windows updated.
        public var updates = 0
        /// Metric windows that were already final, so the event was late for them.
        public var late = 0
        /// The first metric that was late, or -1.
        public var firstLateMetric = -1
        /// The first metric that refused the event, or -1, and why.
        public var firstRejectMetric = -1
        public var rejectReason: MetricRejectReason?
        public init() {}
    }

    /// Folds the event of type `typeID` at event time `ts` whose extracted fields are `slots`
    /// (indexed by ``catalog``) into every metric that reads the type. `sameEvent`: the event and
    /// `slots` are those of the previous `ingest` call (a pipeline's qualified output of the event
    /// just ingested raw), so the label sets looked up then are reused instead of hashed again.
    public func ingest(typeID: Int, timestamp ts: EpochMillis, slots: UnsafeBufferPointer<FieldValue>,
                       sameEvent: Bool = false) -> IngestOutcome {
        var out = IngestOutcome()
        if !sameEvent { eventNumber &+= 1 }
        if ts > maxEventTime { maxEventTime = ts }
        let wm = watermark
        for k in typeMetrics.range(typeID) {
            let mi = typeMetrics.elements[k]
            let plan = plans[mi]
            if let f = plan.filter {
                switch f._withUnsafeGuaranteedRef({ $0.filter.evaluate(slots) }) {
                case .match: break
                case .noMatch: continue
                case .wrongType:
                    reject(mi, .wrongFieldType, &out)
                    continue
                }
            }
            var number = 0.0
            var distinctHash: UInt64 = 0
            let vs = plan.valueSlot
            if vs >= 0 {
                let v = slots[vs]
                if plan.needsNumber {
                    switch v.kind {
                    case .number:
                        number = v.number
                        if !number.isFinite { reject(mi, .notFinite, &out); continue }
                        if plan.isQuantile && number < 0 { reject(mi, .negativeValue, &out); continue }
                    case .absent, .null: reject(mi, .missingField, &out); continue
                    default: reject(mi, .wrongFieldType, &out); continue
                    }
                } else {
                    // distinct: absent and null values are not values.
                    if v.kind == .absent || v.kind == .null { reject(mi, .missingField, &out); continue }
                    distinctHash = ValueHash.hash(v)
                }
            }
            // The label set is looked up at the first window the event is not late for, so that
            // late events neither create label sets nor count as overflow.
            var group: Int32 = -1
            var grouped = false
            var wasLate = false
            for l in plan.firstLane..<plan.endLane {
                let lane = lanes[l]
                let w = window(of: lane, plan, containing: ts)
                if w.end <= wm {
                    out.late += 1
                    if out.firstLateMetric < 0 { out.firstLateMetric = mi }
                    // One late event per metric, however many of its periods were final.
                    if !wasLate { lateEvents[mi] += 1 }
                    wasLate = true
                    continue
                }
                if !grouped {
                    grouped = true
                    group = resolveGroup(plan, mi, slots)
                }
                let key = CellKey(start: w.start, metric: Int32(mi), group: group, period: lane.code)
                let h = key.hash
                var found = cellIndex.find(h) { cellKeys[Int($0)] == key }
                if found < 0 { found = newCell(key, hash: h, end: w.end, emptyCell(plan)) }
                let ci = Int(found)
                var newElement = false
                let newlyDirty = cells.withUnsafeMutableBufferPointer { cells in
                    if plan.isDistinct {
                        cells[ci].samples &+= 1
                        newElement = cells[ci].insertDistinct(distinctHash)
                    } else if plan.isQuantile {
                        cells[ci].add(quantileValue: number)
                    } else if vs >= 0 {
                        cells[ci].add(number: number)
                    } else {
                        cells[ci].samples &+= 1
                    }
                    if cells[ci].dirty { return false }
                    cells[ci].dirty = true
                    return true
                }
                if newlyDirty { dirty.append(Int32(ci)) }
                if newElement && checkpointing {
                    pendingDistinctCells.append(Int32(ci))
                    pendingDistinctHashes.append(distinctHash)
                }
                out.updates += 1
            }
        }
        if out.updates > 0 { eventsCounted += 1 }
        return out
    }

    /// The window of `lane` (a lane of `plan`) that contains `ts`: a rolling pane, or a calendar
    /// window (two comparisons while `ts` is in one of the lane's two recent windows).
    @inline(__always)
    func window(of lane: WindowLane, _ plan: MetricPlan, containing ts: EpochMillis) -> WindowBounds {
        if lane.paneMillis > 0 {
            let start = floorDiv(ts, lane.paneMillis) &* lane.paneMillis
            return WindowBounds(start: start, end: start &+ lane.paneMillis)
        }
        return plan.windowing._withUnsafeGuaranteedRef { $0.window(containing: ts, period: lane.period) }
    }

    /// The group of the event's label set for metric `mi` (under `eventNumber`'s memo): the
    /// known one while the metric's budget holds it, else admitted (or the overflow group).
    @inline(__always)
    func resolveGroup(_ plan: MetricPlan, _ mi: Int, _ slots: UnsafeBufferPointer<FieldValue>) -> Int32 {
        let group = plan.groups._withUnsafeGuaranteedRef { $0.existingGroup(for: slots, event: eventNumber) }
        if group >= 0 && plan.budget._withUnsafeGuaranteedRef({ $0.contains(group) }) { return group }
        return admitGroup(plan, mi, known: group, slots)
    }

    /// The group of an event whose label set metric `mi` has not admitted yet (`known` is its
    /// group in the table, or -1 when the table does not have it): admitted while the metric is
    /// under its cap, else the table's overflow group (counted in ``labelOverflows``).
    @inline(never)
    func admitGroup(_ plan: MetricPlan, _ mi: Int, known: Int32,
                            _ slots: UnsafeBufferPointer<FieldValue>) -> Int32 {
        let event = eventNumber
        let result: (Int32, Bool) = plan.budget._withUnsafeGuaranteedRef { budget -> (Int32, Bool) in
            plan.groups._withUnsafeGuaranteedRef { table -> (Int32, Bool) in
                if known >= 0 && budget.contains(known) { return (known, false) }
                if budget.isFull {
                    // A label set admitted before a restore has no index entry yet (see
                    // ``GroupTable/restoreGroup(json:)``): find it by its JSON.
                    if known < 0, let g = table.restoredGroup(for: slots), budget.contains(g) {
                        _ = table.insertGroup(for: slots, event: event)
                        return (g, false)
                    }
                    return (table.overflowGroup, true)
                }
                // A new entry may still be a known group (the number 200 and the string "200").
                let g = known >= 0 ? known : table.insertGroup(for: slots, event: event)
                if !budget.contains(g) {
                    _ = budget.admit(g)
                    if checkpointing { pendingLabelSets.append((Int32(mi), g)) }
                }
                return (g, false)
            }
        }
        if result.1 {
            labelOverflows[mi] += 1
            overflowGroups[mi] = result.0
        }
        return result.0
    }

    /// Notes a new cell of a metric's overflow group in its first lane: once per window, for the
    /// warning the daemon logs.
    private func noteOverflow(_ key: CellKey, end: Int64) {
        let mi = Int(key.metric)
        guard key.group == overflowGroups[mi], key.period == lanes[plans[mi].firstLane].code else { return }
        let m = metrics[mi]
        let period = key.period == WindowLane.paneCode ? m.definition.rolling!.period + " pane"
            : CalendarPeriod.allCases[Int(key.period)].rawValue
        overflowNotices.append(LabelOverflowNotice(metric: m.definition.name, period: period, windowStart: key.start,
                                                   windowEnd: end, maxLabelSets: m.budget.cap))
    }

    @inline(__always)
    private func reject(_ mi: Int, _ reason: MetricRejectReason, _ out: inout IngestOutcome) {
        metricRejects[mi][reason, default: 0] += 1
        if out.firstRejectMetric < 0 {
            out.firstRejectMetric = mi
            out.rejectReason = reason
        }
    }

    /// Adds a cell to the table and its window (or rolling panes); `serial` is a restored cell's
    /// serial, nil for a new one.
    func newCell(_ key: CellKey, hash: UInt64, end: Int64, _ cell: AggregateCell, serial: Int64? = nil) -> Int32 {
        let ci: Int32
        let s = serial ?? nextSerial
        if s >= nextSerial { nextSerial = s &+ 1 }
        if let free = freeCells.popLast() {
            ci = free
            cells[Int(ci)] = cell
            cellKeys[Int(ci)] = key
            cellEnds[Int(ci)] = end
            cellSerials[Int(ci)] = s
        } else {
            ci = Int32(cells.count)
            cells.append(cell)
            cellKeys.append(key)
            cellEnds.append(end)
            cellSerials.append(s)
        }
        cellIndex.insert(hash, ci)
        if overflowGroups[Int(key.metric)] >= 0 { noteOverflow(key, end: end) }
        if key.period == WindowLane.paneCode {
            rollingPanes[rollingIndex[Int(key.metric)]].add(cell: ci, paneStart: key.start)
            return ci
        }
        let wk = WindowKey(start: key.start, metric: key.metric, period: key.period)
        openWindows[wk, default: OpenWindow(end: end, cells: [])].cells.append(ci)
        return ci
    }

    /// Cuts a flush: a row for every cell that changed since the last flush, and a final row for
    /// every cell whose window the watermark has passed (those cells are then freed). Deferred
    /// counts are folded in first.
    public func flush() -> FlushBatch {
        foldDeferredCounts()
        let wm = watermark
        var batch = FlushBatch(watermark: wm)
        // The state changes are taken before any cell is freed (see `WindowEngine+Checkpoint.swift`).
        var checkpoint = checkpointing ? beginCheckpoint() : nil
        // Final windows first, so that their cells are emitted once, as final.
        var finished: [WindowKey] = []
        for (wk, w) in openWindows where w.end <= wm { finished.append(wk) }
        finished.sort { ($0.metric, $0.period, $0.start) < ($1.metric, $1.period, $1.start) }
        for wk in finished {
            let w = openWindows.removeValue(forKey: wk)!
            for ci in w.cells {
                appendRows(Int(ci), final: true, to: &batch.rows)
                freeCell(ci)
            }
        }
        for ci in dirty where cells[Int(ci)].dirty {
            cells[Int(ci)].dirty = false
            let key = cellKeys[Int(ci)]
            if key.period == WindowLane.paneCode {
                // Rolling panes are not rows: their windows are emitted below.
                rollingPanes[rollingIndex[Int(key.metric)]].dirtyGroups.insert(key.group)
                continue
            }
            appendRows(Int(ci), final: false, to: &batch.rows)
        }
        dirty.removeAll(keepingCapacity: true)
        flushRolling(into: &batch)
        if checkpoint != nil { finishCheckpoint(&checkpoint!) }
        batch.checkpoint = checkpoint
        batch.labelOverflows = overflowNotices
        overflowNotices.removeAll()
        return batch
    }

    /// Drops cell `ci`: out of the index, storage released, slot reused by the next new cell.
    func freeCell(_ ci: Int32) {
        if checkpointing { removedSerials.append(cellSerials[Int(ci)]) }
        cellIndex.remove(cellKeys[Int(ci)].hash, ci)
        cells[Int(ci)].release()
        cells[Int(ci)] = AggregateCell(distinct: false)
        freeCells.append(ci)
    }

    /// A new, empty cell for a metric of plan `plan` (its distinct limit, its sketch).
    @inline(__always)
    func emptyCell(_ plan: MetricPlan) -> AggregateCell {
        AggregateCell(distinct: plan.isDistinct, distinctExactMax: plan.distinctExactMax, quantile: plan.isQuantile)
    }

    /// A new, empty cell for metric `mi`.
    func emptyCell(metric mi: Int) -> AggregateCell { emptyCell(plans[mi]) }

    /// The rows of cell `ci` (see ``appendRows(metric:group:period:start:end:cell:final:to:)``).
    private func appendRows(_ ci: Int, final: Bool, to rows: inout [AggregateRow]) {
        let key = cellKeys[ci]
        appendRows(metric: Int(key.metric), group: key.group, period: CalendarPeriod.allCases[Int(key.period)].rawValue,
                   start: key.start, end: cellEnds[ci], cell: cells[ci], final: final, to: &rows)
    }

    /// The rows of one (metric, period, window, label set) whose aggregate is `cell`: one, or one
    /// per quantile of a `quantile` metric (labelled `"quantile":"0.95"`, see
    /// ``quantileLabels(metric:group:)``).
    func appendRows(metric mi: Int, group: Int32, period: String, start: Int64, end: Int64, cell: AggregateCell,
                    final: Bool, to rows: inout [AggregateRow]) {
        let m = metrics[mi]
        if !m.quantiles.isEmpty {
            let labels = quantileLabels(metric: mi, group: group)
            for (j, q) in m.quantiles.enumerated() {
                rows.append(AggregateRow(metric: m.definition.name, period: period, windowStart: start,
                                         windowEnd: end, labels: labels[j], value: cell.quantile(q),
                                         samples: cell.samples, isFinal: final, estimated: true))
            }
            return
        }
        rows.append(AggregateRow(
            metric: m.definition.name,
            period: period,
            windowStart: start,
            windowEnd: end,
            labels: m.groups.json[Int(group)],
            value: cell.value(for: m.definition.aggregate),
            samples: cell.samples,
            isFinal: final,
            estimated: cell.isEstimated
        ))
    }

    /// Label JSON per quantile of a metric's group, built once per (metric, group).
    private var quantileLabelCache: [Int64: [String]] = [:]

    private func quantileLabels(metric mi: Int, group: Int32) -> [String] {
        let k = Int64(mi) << 32 | Int64(group)
        if let hit = quantileLabelCache[k] { return hit }
        let m = metrics[mi]
        let base = m.groups.json[Int(group)]
        let out = m.quantiles.map { CanonicalLabels.inserting(QuantileLabel.name, QuantileLabel.text($0), into: base) }
        quantileLabelCache[k] = out
        return out
    }
}
