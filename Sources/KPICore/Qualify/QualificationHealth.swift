/// The built-in health metrics of qualification, stored in `aggregates` like any metric so that
/// a jump in the bot share is visible without extra configuration:
///
/// - `kpid_qualify_input{pipeline}`: events a pipeline examined, per hour and day;
/// - `kpid_qualify_dropped{filter,pipeline}`: events a filter dropped (`bot`, `self_referrer`,
///   `duplicate`), per hour and day.
///
/// Both use the global time zone. They exist only when the config has pipelines. Their label
/// values are not fields of the event: the pipeline feeds them through a small slot buffer laid
/// out by ``catalog`` (slot 2 = pipeline, slot 3 = filter).
public enum QualificationHealth {
    public static let inputMetric = "kpid_qualify_input"
    public static let droppedMetric = "kpid_qualify_dropped"
    /// Metric names starting with this are reserved for kpid's own metrics.
    public static let reservedPrefix = "kpid_"
    public static let pipelineSlot = 2
    public static let filterSlot = 3

    /// The slot layout of the health label buffer.
    public static var catalog: FieldCatalog {
        var c = FieldCatalog()
        c.slot(for: "pipeline")
        c.slot(for: "filter")
        return c
    }

    /// The two metric definitions, in stream order (input, dropped).
    public static let metrics: [MetricDefinition] = [
        MetricDefinition(name: inputMetric, events: [], aggregate: .count, groupBy: ["pipeline"], windows: [.hour, .day]),
        MetricDefinition(name: droppedMetric, events: [], aggregate: .count, groupBy: ["pipeline", "filter"],
                         windows: [.hour, .day]),
    ]

    /// Every event field a pipeline reads, for the decoder's catalog.
    public static func fields(of p: QualificationPipelineConfig) -> [String] {
        var out: [String] = []
        func add(_ f: String) { if !out.contains(f) { out.append(f) } }
        if p.runs(.bot) { add(p.userAgentField) }
        if p.runs(.selfReferrer) { add(p.referrerField); add(p.urlField) }
        if p.runs(.duplicate) { p.dedupeKey.forEach(add) }
        p.logFields.forEach(add)
        return out
    }
}

/// The label slots of the qualification health metrics, built once: for each pipeline and each
/// filter (or none, for `kpid_qualify_input`) a ready slot buffer laid out by
/// ``QualificationHealth/catalog``, pointing at label bytes this object owns. Handing one out
/// costs an index computation; nothing is allocated per event.
public final class HealthLabels: @unchecked Sendable {
    private let bytes: UnsafeMutableRawBufferPointer
    private let buffers: UnsafeMutableBufferPointer<FieldValue>
    private static let width = 4 // slots per buffer: type, ts, pipeline, filter
    private static let variants = QualificationFilter.allCases.count + 1

    public init(pipelines: [String]) {
        let filters = QualificationFilter.allCases.map(\.rawValue)
        let texts = pipelines + filters
        let total = texts.reduce(0) { $0 + $1.utf8.count }
        bytes = .allocate(byteCount: max(total, 1), alignment: 8)
        var offsets: [Int] = []
        var at = 0
        for t in texts {
            offsets.append(at)
            for b in t.utf8 { bytes[at] = b; at += 1 }
        }
        func text(_ i: Int) -> FieldValue {
            let count = texts[i].utf8.count
            let view = UnsafeRawBufferPointer(start: bytes.baseAddress! + offsets[i], count: count)
            return FieldValue(kind: .string, number: 0, string: view)
        }
        buffers = .allocate(capacity: max(pipelines.count, 1) * Self.variants * Self.width)
        buffers.initialize(repeating: .absent)
        for p in pipelines.indices {
            for v in 0..<Self.variants {
                let base = (p * Self.variants + v) * Self.width
                buffers[base + QualificationHealth.pipelineSlot] = text(p)
                if v > 0 { buffers[base + QualificationHealth.filterSlot] = text(pipelines.count + v - 1) }
            }
        }
    }

    deinit {
        bytes.deallocate()
        buffers.deallocate()
    }

    /// The slots for pipeline `p` and `filter` (nil: the input metric, which has no filter label).
    @inline(__always)
    public func slots(pipeline p: Int, filter: QualificationFilter?) -> UnsafeBufferPointer<FieldValue> {
        let base = key(pipeline: p, filter: filter) * Self.width
        return UnsafeBufferPointer(rebasing: buffers[base..<(base + Self.width)])
    }

    /// A small integer naming the slot buffer of pipeline `p` and `filter`: the same key always
    /// comes with the same label values (the key of ``WindowEngine/count(deferred:key:timestamp:slots:)``).
    @inline(__always)
    public func key(pipeline p: Int, filter: QualificationFilter?) -> Int {
        p * Self.variants + (filter.map { $0.ordinal + 1 } ?? 0)
    }
}
