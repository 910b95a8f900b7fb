import KPICore

/// The hot path of kpid without the sockets: ZeroMQ frames → decoded events → qualified →
/// folded into the ``WindowEngine``.
///
/// It owns the decoder and the engine, counts every input by source, type and reject reason, and
/// keeps a bounded sample of rejected inputs until the next flush. Per event it allocates nothing
/// (the decoder reuses its buffers, the engine allocates only for new windows and label sets).
///
/// Time: event time comes from `ts`; the injected clock, read once per message (its receive
/// time), only stamps events that have none and bounds how far in the future an event may be.
/// One pipeline belongs to one thread.
public final class IngestPipeline: @unchecked Sendable {
    public let engine: WindowEngine
    /// Derived metrics, evaluated over each flush's rows (not per event).
    public let derived: DerivedStage
    public let config: KpidConfig
    /// Source names, indexed by the `source` argument of ``process(frameCount:first:second:source:)``.
    public let sources: [String]
    private let decoder: EventDecoder
    private let clock: any WallClock
    private let eventTypes: [String]
    private let otherType: Int
    private let metricNames: [String]
    public private(set) var counters: IngestCounters
    private var pendingSamples: [RejectSample] = []
    private var samplesThisFlush: [Int]
    /// Samples kept per reason between two flushes.
    public var samplesPerReasonPerFlush = 20
    /// Qualification stages, and for each raw event type the stages that read it.
    public let stages: [QualificationStage]
    private let stagesByType: [[Int]]
    private let health: HealthLabels?
    /// Per stage, what `qualify(stage:…)` reads per event without a call or reference counting:
    /// the stage itself, its stream, and the health metrics' deferred-count keys and label slots
    /// (at `stage * healthVariants`: the input, then the drops of each filter in
    /// ``QualificationFilter`` order). The slots point into `health`, and the stages are held by
    /// `stages`: both live as long as `self`.
    private let stageRefs: [Unmanaged<QualificationStage>]
    private let stageStreams: [Int]
    /// Per stage, what ``QualificationStage/prepare(_:)`` returned for the event being processed.
    private var preparedKeys: [UInt64?]
    private let healthKeys: [Int]
    private let healthSlots: [UnsafeBufferPointer<FieldValue>]
    private let healthVariants = QualificationFilter.allCases.count + 1
    private var qualifiedLog: [QualifiedEvent] = []
    private let logSlots: [[Int]]
    /// Per-publisher `src`/`seq` loss accounting (slots -1 when `track_sequences = false`).
    public private(set) var sequences = SequenceTracker()
    private let srcSlot: Int
    private let seqSlot: Int
    private let logNames: [[String]]
    /// Permissions of authenticated publishers; see ``process(frameCount:first:second:source:publisher:)``.
    public let permissions: PublisherPermissions
    private let tenantSlots: [Int]
    /// Publisher index of the message being processed, -1 for none (not authenticated).
    private var publisher = -1
    /// The bytes of the event being processed (for reject samples).
    private var line = UnsafeRawBufferPointer(start: nil, count: 0)

    /// Builds the pipeline for a validated config. Throws only when a pipeline's bot patterns do
    /// not compile (the config loader has already checked them).
    public init(config: KpidConfig, clock: any WallClock, sources: [String]? = nil) throws(BotPatternError) {
        self.config = config
        self.clock = clock
        self.engine = WindowEngine(config: config)
        self.derived = DerivedStage(config: config)
        self.sources = sources ?? config.sources.map(\.name)
        self.decoder = EventDecoder(fields: engine.catalog.names, limits: EventDecoder.Limits(
            maxFields: config.limits.maxFieldsPerEvent, maxFieldBytes: config.limits.maxFieldBytes))
        self.eventTypes = engine.eventTypes
        self.otherType = eventTypes.count
        self.metricNames = engine.metricNames
        self.counters = IngestCounters(sources: max(1, self.sources.count), types: eventTypes.count)
        self.samplesThisFlush = Array(repeating: 0, count: RejectReason.allCases.count)
        var stages: [QualificationStage] = []
        var byType: [[Int]] = Array(repeating: [], count: eventTypes.count)
        for p in config.pipelines {
            let stage = try QualificationStage(config: p, catalog: engine.catalog, stream: engine.pipelineStream(p.name)!)
            for t in p.events { if let id = engine.typeID(t) { byType[id].append(stages.count) } }
            stages.append(stage)
        }
        self.stages = stages
        self.stagesByType = byType
        let health = stages.isEmpty ? nil : HealthLabels(pipelines: config.pipelines.map(\.name))
        self.health = health
        self.stageRefs = stages.map { Unmanaged.passUnretained($0) }
        self.stageStreams = stages.map(\.stream)
        self.preparedKeys = Array(repeating: nil, count: stages.count)
        let filters: [QualificationFilter?] = [nil] + QualificationFilter.allCases.map { $0 }
        self.healthKeys = health.map { h in stages.indices.flatMap { si in filters.map { h.key(pipeline: si, filter: $0) } } } ?? []
        self.healthSlots = health.map { h in stages.indices.flatMap { si in filters.map { h.slots(pipeline: si, filter: $0) } } } ?? []
        assert(stages.isEmpty || (engine.canDeferCounts(engine.healthInputStream) && engine.canDeferCounts(engine.healthDroppedStream)))
        let catalog = engine.catalog
        srcSlot = config.trackSequences ? catalog.existingSlot(for: SequenceTracker.sourceField)! : -1
        seqSlot = config.trackSequences ? catalog.existingSlot(for: SequenceTracker.sequenceField)! : -1
        logSlots = config.pipelines.map { p in p.logFields.map { catalog.existingSlot(for: $0)! } }
        logNames = config.pipelines.map(\.logFields)
        let perms = PublisherPermissions(
            identities: config.sources.flatMap { $0.curve?.clients.map(\.publisher) ?? [] },
            rules: config.publishers, unlisted: config.effectiveUnlistedPublishers)
        permissions = perms
        tenantSlots = perms.tenantFields.map { catalog.existingSlot(for: $0) ?? -1 }
    }

    /// ``process(frameCount:first:second:source:)`` for a message of an authenticated publisher
    /// (an index into ``permissions``, from the message's ZAP user id; -1 for none): every event
    /// is checked against the publisher's permissions before it touches any metric.
    @inline(__always)
    public func process(frameCount: Int, first: UnsafeRawBufferPointer, second: UnsafeRawBufferPointer, source: Int,
                        publisher: Int, decoded: DecodedPayload? = nil) {
        self.publisher = publisher
        defer { self.publisher = -1 }
        process(frameCount: frameCount, first: first, second: second, source: source, decoded: decoded)
    }

    /// Processes one ZeroMQ message: one JSON frame, or a topic frame and a JSON frame. It takes
    /// the frame count and the first two frames (`second` is ignored for one frame), so the
    /// receive loop builds no array per message. More than two frames is `too_many_frames`.
    /// With `decoded`, the payload frame was already decoded into it (``payloadFrame(frameCount:first:second:)``
    /// says which frame that is), on any thread: the results are those of decoding it here.
    @inline(__always)
    public func process(frameCount: Int, first: UnsafeRawBufferPointer, second: UnsafeRawBufferPointer, source: Int,
                        decoded: DecodedPayload? = nil) {
        switch frameCount {
        case 0: return
        case 1: process(topic: nil, payload: first, source: source, decoded: decoded)
        case 2: process(topic: first, payload: second, source: source, decoded: decoded)
        default:
            counters.countMessage(source: source)
            reject(.tooManyFrames, source: source, bytes: first, detail: "\(frameCount) frames; expected 1 or 2")
        }
    }

    /// The frame of a message that holds its JSON payload, or nil when the message is rejected
    /// before decoding (no frame, more than two, or an empty payload).
    @inline(__always)
    public static func payloadFrame(frameCount: Int, first: UnsafeRawBufferPointer,
                                    second: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        let payload = frameCount == 1 ? first : frameCount == 2 ? second : UnsafeRawBufferPointer(start: nil, count: 0)
        return payload.isEmpty ? nil : payload
    }

    /// A ``DecodedPayload`` that decodes as this pipeline does (its fields and limits).
    public func decodedPayload() -> DecodedPayload {
        DecodedPayload(fields: decoder.fields, limits: decoder.limits)
    }

    /// Processes one payload (a JSON object or NDJSON), with the topic frame if there was one.
    public func process(topic: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, source: Int) {
        process(topic: topic, payload: payload, source: source, decoded: nil)
    }

    @inline(__always)
    private func process(topic: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, source: Int,
                         decoded: DecodedPayload?) {
        counters.countMessage(source: source)
        if payload.isEmpty {
            reject(.emptyFrame, source: source, bytes: topic ?? payload, detail: "empty payload frame")
            return
        }
        if let decoded {
            var documents = decoded.documents
            fold(&documents, topic: topic, source: source)
        } else {
            // In place: the frame stays valid until this call returns, and samples copy what they keep.
            decoder.load(borrowing: payload)
            var documents = decoder
            fold(&documents, topic: topic, source: source)
        }
    }

    /// Folds the documents of one payload.
    @inline(__always)
    private func fold<D: PayloadDocuments>(_ documents: inout D, topic: UnsafeRawBufferPointer?, source: Int) {
        var events = 0
        let limit = config.limits.maxEventsPerFrame
        // The receive time of the message: stamps events without `ts` and bounds `max_future`.
        let now = clock.nowMillis()
        while true {
            switch documents.next() {
            case .end:
                return
            case .error(let e):
                reject(RejectReason(e), source: source, bytes: documents.currentLine, detail: nil)
            case .event:
                events += 1
                line = documents.currentLine
                if events > limit {
                    reject(.tooManyEvents, source: source, bytes: line,
                           detail: "more than \(limit) events in one frame; the rest of the frame was dropped")
                    return
                }
                handleEvent(documents.slots, topic: topic, source: source, now: now)
            }
        }
    }

    @inline(__always)
    private func handleEvent(_ slots: UnsafeBufferPointer<FieldValue>, topic: UnsafeRawBufferPointer?, source: Int,
                             now: EpochMillis) {
        if srcSlot >= 0 { sequences.record(src: slots[srcSlot], seq: slots[seqSlot]) }
        // The event type: the `type` field, else the topic frame.
        let typeField = slots[FieldCatalog.typeSlot]
        let typeBytes: UnsafeRawBufferPointer
        switch typeField.kind {
        case .string:
            typeBytes = typeField.string
            if let topic, !topic.isEmpty, !Self.equal(topic, typeBytes) {
                reject(.typeTopicMismatch, source: source, bytes: line,
                       detail: "type differs from topic \"\(String(decoding: topic.prefix(64), as: UTF8.self))\"")
                return
            }
        case .absent:
            guard let topic, !topic.isEmpty else {
                reject(.missingType, source: source, bytes: line, detail: nil)
                return
            }
            typeBytes = topic
        default:
            reject(.badType, source: source, bytes: line, detail: "type must be a string")
            return
        }
        if publisher >= 0, !permitted(type: typeBytes, slots: slots, source: source) { return }
        guard let typeID = engine.typeID(typeBytes) else {
            counters.countReceived(source: source, type: otherType)
            return
        }
        counters.countReceived(source: source, type: typeID)

        // Event time.
        let tsField = slots[FieldCatalog.timestampSlot]
        let ts: EpochMillis
        switch tsField.kind {
        case .number:
            guard let t = Timestamp.fromEpochNumber(tsField.number) else {
                reject(.badTimestamp, source: source, bytes: line, detail: "ts out of range")
                return
            }
            ts = t
        case .string:
            guard let t = Timestamp.parseRFC3339(tsField.string) else {
                reject(.badTimestamp, source: source, bytes: line, detail: "ts is not RFC 3339")
                return
            }
            ts = t
        case .absent, .null:
            counters.countTimestampMissing()
            ts = now
        case .bool:
            reject(.badTimestamp, source: source, bytes: line, detail: "ts must be a number or a string")
            return
        }
        if ts > now &+ config.maxFutureMillis {
            reject(.timestampInFuture, source: source, bytes: line,
                   detail: "ts \(Timestamp.formatRFC3339(ts)) is ahead of the clock by more than max_future")
            return
        }
        // The stages' dedupe keys first: their table slots are prefetched while the raw event folds.
        let stagesHere = stagesByType[typeID]
        for si in stagesHere { preparedKeys[si] = stageRefs[si]._withUnsafeGuaranteedRef { $0.prepare(slots) } }
        account(engine.ingest(typeID: typeID, timestamp: ts, slots: slots), source: source)
        for si in stagesHere { qualify(stage: si, slots: slots, ts: ts, source: source) }
    }

    /// Checks the event against the current publisher's permissions; rejects it when outside
    /// them. The sample's detail (naming the publisher) is built only when a sample is kept.
    @inline(__always)
    private func permitted(type: UnsafeRawBufferPointer, slots: UnsafeBufferPointer<FieldValue>, source: Int) -> Bool {
        let p = publisher
        let slot = tenantSlots[p]
        let tenant = slot >= 0 ? slots[slot] : FieldValue(kind: .absent)
        let reason: RejectReason
        switch permissions.check(publisher: p, type: type, tenant: tenant) {
        case .allowed: return true
        case .forbiddenType: reason = .forbiddenType
        case .forbiddenTenant: reason = .forbiddenTenant
        case .unlistedPublisher: reason = .forbiddenPublisher
        }
        counters.countReject(source: source, reason: reason)
        guard samplesThisFlush[reason.ordinal] < samplesPerReasonPerFlush else { return false }
        let name = permissions.names[p]
        let detail: String
        switch reason {
        case .forbiddenType:
            detail = "publisher \(name) may not send type \(String(decoding: type.prefix(64), as: UTF8.self))"
        case .forbiddenTenant:
            let value = tenant.kind == .string ? String(decoding: tenant.string.prefix(64), as: UTF8.self) : "(none)"
            detail = "publisher \(name) may not send \(permissions.tenantFields[p]) \(value)"
        default:
            detail = "publisher \(name) has no [[publishers]] entry and unlisted publishers are denied"
        }
        sample(reason, source: source, bytes: line, metric: nil, detail: detail)
        return false
    }

    /// Counts the late and per-metric rejects of one fold.
    @inline(__always)
    private func account(_ outcome: WindowEngine.IngestOutcome, source: Int) {
        if outcome.late > 0 {
            counters.countReject(source: source, reason: .late)
            sample(.late, source: source, bytes: line,
                   metric: metricNames[outcome.firstLateMetric], detail: "window already final")
        }
        if let reason = outcome.rejectReason {
            let r: RejectReason
            switch reason {
            case .wrongFieldType: r = .wrongFieldType
            case .missingField: r = .missingField
            case .notFinite: r = .notFinite
            case .negativeValue: r = .negativeValue
            }
            counters.countReject(source: source, reason: r)
            sample(r, source: source, bytes: line, metric: metricNames[outcome.firstRejectMetric], detail: nil)
        }
    }

    /// Runs one qualification pipeline over the event and folds the outcome into the pipeline's
    /// metrics and the qualification health metrics. The health metrics are plain counts, so
    /// they are counted in the engine's deferred table and folded into their cells at the next
    /// flush (see `WindowEngine+Counts.swift`): same rows, same lateness, no second fold per event.
    @inline(__always)
    private func qualify(stage si: Int, slots: UnsafeBufferPointer<FieldValue>, ts: EpochMillis, source: Int) {
        let base = si * healthVariants
        engine.count(deferred: engine.healthInputStream, key: healthKeys[base], timestamp: ts, slots: healthSlots[base])
        switch stageRefs[si]._withUnsafeGuaranteedRef({ $0.qualify(slots, at: ts, prepared: preparedKeys[si]) }) {
        case .qualified:
            account(engine.ingest(typeID: stageStreams[si], timestamp: ts, slots: slots, sameEvent: true), source: source)
            if !logSlots[si].isEmpty { log(stage: si, slots: slots, ts: ts) }
        case .dropped(let filter):
            let variant = base + filter.ordinal + 1
            engine.count(deferred: engine.healthDroppedStream, key: healthKeys[variant], timestamp: ts,
                         slots: healthSlots[variant])
        case .missingDedupeKey:
            let stage = stages[si]
            counters.countReject(source: source, reason: .missingDedupeKey)
            sample(.missingDedupeKey, source: source, bytes: line, metric: nil,
                   detail: "pipeline \(stage.config.name) needs \(stage.config.dedupeKey.joined(separator: ", "))")
        }
    }

    /// Keeps the logged fields of a qualified event (allocates: the audit log is opt-in).
    private func log(stage si: Int, slots: UnsafeBufferPointer<FieldValue>, ts: EpochMillis) {
        var names: [String] = []
        var values: [LabelValue] = []
        for (j, s) in logSlots[si].enumerated() where slots[s].kind != .absent {
            names.append(logNames[si][j])
            values.append(LabelValue(slots[s]))
        }
        qualifiedLog.append(QualifiedEvent(pipeline: stages[si].config.name, timestamp: ts,
                                           fields: CanonicalLabels.json(names: names, values: values)))
    }

    @inline(__always)
    private static func equal(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && (a.count == 0 || a.elementsEqual(b))
    }

    private func reject(_ reason: RejectReason, source: Int, bytes: UnsafeRawBufferPointer, detail: String?) {
        counters.countReject(source: source, reason: reason)
        sample(reason, source: source, bytes: bytes, metric: nil, detail: detail)
    }

    private func sample(_ reason: RejectReason, source: Int, bytes: UnsafeRawBufferPointer, metric: String?, detail: String?) {
        let o = reason.ordinal
        guard samplesThisFlush[o] < samplesPerReasonPerFlush else { return }
        samplesThisFlush[o] += 1
        pendingSamples.append(RejectSample(
            receivedAt: clock.nowMillis(), reason: reason,
            source: source < sources.count ? sources[source] : "?",
            metric: metric, detail: detail,
            sample: Array(bytes.prefix(config.limits.rejectSampleBytes))))
    }

    /// What a flush writes: the engine's changed rows, the counter increments and the reject
    /// samples since the previous flush.
    public struct Flush: Sendable {
        public var batch: FlushBatch
        public var counters: [CounterDelta]
        public var rejects: [RejectSample]
        /// Qualified events to log, for pipelines with `log_fields`.
        public var qualified: [QualifiedEvent] = []
        /// Per pipeline with a log: logged events with `ts` before this are deleted.
        public var qualifiedLogCutoffs: [String: EpochMillis] = [:]
        /// What changed in the state since the previous flush, when ``checkpointing`` is on.
        public var state: StateCheckpoint?
    }

    /// Whether flushes carry a ``StateCheckpoint`` (the engine's cells, distinct elements and
    /// label sets, the dedupe keys, the publishers' sequence numbers). Turn it on before the
    /// first event; the daemon always does.
    public var checkpointing: Bool {
        get { engine.checkpointing }
        set {
            engine.checkpointing = newValue
            if newValue { for s in stages { s.recordDedupeChanges() } }
        }
    }

    /// Loads a checkpointed state into this pipeline, which must be new (nothing processed): the
    /// engine's (see ``WindowEngine/restore(_:)``), the dedupe keys of the pipelines that still
    /// exist, and the publishers' last sequence numbers.
    @discardableResult
    public func restore(_ state: PipelineState) -> WindowEngine.RestoreSummary {
        let summary = engine.restore(state.engine)
        for stage in stages {
            if let d = state.dedupe[stage.config.name] {
                stage.restoreDedupe(keys: d.keys, times: d.times)
                stage.expire(watermark: engine.watermark)
            }
        }
        for (src, last) in state.sequences { sequences.restore(src: src, last: last) }
        return summary
    }

    /// Cuts a flush (see ``WindowEngine/flush()``), including per-metric late and reject counters
    /// and the rows of derived metrics (``DerivedStage``).
    public func flush() -> Flush {
        var batch = engine.flush()
        derived.process(&batch)
        var deltas = counters.deltas(sources: sources, types: eventTypes)
        deltas += metricCounterDeltas()
        deltas += stageCounterDeltas()
        deltas += sequences.deltas()
        let rejects = pendingSamples
        pendingSamples.removeAll(keepingCapacity: true)
        for i in samplesThisFlush.indices { samplesThisFlush[i] = 0 }
        var flush = Flush(batch: batch, counters: deltas, rejects: rejects)
        flush.qualified = qualifiedLog
        qualifiedLog = []
        let now = clock.nowMillis()
        if let c = batch.checkpoint {
            flush.batch.checkpoint = nil
            flush.state = StateCheckpoint(engine: c)
        }
        for stage in stages {
            stage.expire(watermark: batch.watermark)
            if !stage.config.logFields.isEmpty {
                flush.qualifiedLogCutoffs[stage.config.name] = now - stage.config.logRetentionMillis
            }
            if flush.state != nil { flush.state!.dedupe.append(stage.checkpoint(watermark: batch.watermark)) }
        }
        if flush.state != nil { flush.state!.sequences = sequences.checkpointChanges() }
        return flush
    }

    private var reportedEvictions: [Int64] = []
    private var reportedDrops: [[Int64]] = []

    private func stageCounterDeltas() -> [CounterDelta] {
        if reportedEvictions.isEmpty { reportedEvictions = stages.map { _ in 0 } }
        var out: [CounterDelta] = []
        if reportedDrops.isEmpty { reportedDrops = stages.map { $0.dropped.map { _ in 0 } } }
        for (i, stage) in stages.enumerated() {
            let name = stage.config.name
            if stage.dedupeEvictions != reportedEvictions[i] {
                out.append(CounterDelta(name: "dedupe_evictions", labels: CanonicalLabels.json(["pipeline": name]),
                                        delta: stage.dedupeEvictions - reportedEvictions[i]))
                reportedEvictions[i] = stage.dedupeEvictions
            }
            for f in QualificationFilter.allCases where stage.dropped[f.ordinal] != reportedDrops[i][f.ordinal] {
                out.append(CounterDelta(name: "qualify_dropped", labels: CanonicalLabels.json(["filter": f.rawValue, "pipeline": name]),
                                        delta: stage.dropped[f.ordinal] - reportedDrops[i][f.ordinal]))
                reportedDrops[i][f.ordinal] = stage.dropped[f.ordinal]
            }
        }
        return out
    }

    private var reportedLate: [Int64] = []
    private var reportedOverflows: [Int64] = []
    private var reportedMetricRejects: [[MetricRejectReason: Int64]] = []

    private func metricCounterDeltas() -> [CounterDelta] {
        var out: [CounterDelta] = []
        let late = engine.lateEvents
        if reportedLate.isEmpty { reportedLate = late.map { _ in 0 } }
        if reportedMetricRejects.isEmpty { reportedMetricRejects = late.map { _ in [:] } }
        for (i, n) in late.enumerated() where n != reportedLate[i] {
            out.append(CounterDelta(name: "late_events", labels: CanonicalLabels.json(["metric": metricNames[i]]), delta: n - reportedLate[i]))
        }
        let mr = engine.metricRejects
        for (i, byReason) in mr.enumerated() {
            for (reason, n) in byReason where n != reportedMetricRejects[i][reason, default: 0] {
                out.append(CounterDelta(name: "metric_rejects",
                                        labels: CanonicalLabels.json(["metric": metricNames[i], "reason": reason.rawValue]),
                                        delta: n - reportedMetricRejects[i][reason, default: 0]))
            }
        }
        let overflows = engine.labelOverflows
        if reportedOverflows.isEmpty { reportedOverflows = overflows.map { _ in 0 } }
        for (i, n) in overflows.enumerated() where n != reportedOverflows[i] {
            out.append(CounterDelta(name: "label_overflow", labels: CanonicalLabels.json(["metric": metricNames[i]]),
                                    delta: n - reportedOverflows[i]))
        }
        reportedOverflows = overflows
        reportedLate = late
        reportedMetricRejects = mr
        return out
    }
}

extension RejectReason {
    /// The reject reason of a decoder error (the decoder's errors use the reject reason names).
    public init(_ e: DecodeError) {
        self = RejectReason(rawValue: e.rawValue) ?? .malformedJSON
    }
}
