/// The state of one open cell (metric, window or rolling pane, label set) as a checkpoint stores
/// it: a plain value, written whole when the cell changed since the previous checkpoint. The
/// exact distinct set is not in it: its elements are written as they are added
/// (``EngineCheckpoint/distinctSerials``), so a large set is never rewritten.
public struct CellCheckpoint: Sendable, Equatable {
    /// How a cell's distinct values are kept.
    public enum DistinctMode: Int, Sendable {
        /// Not a `distinct` metric.
        case none = 0
        /// The exact hashes, stored one row each.
        case exact = 1
        /// A HyperLogLog (``CellCheckpoint/estimate``).
        case estimated = 2
    }

    /// Names the cell for its whole life (never reused), so rows of its distinct elements can
    /// refer to it.
    public var serial: Int64
    public var metric: String
    /// The window lane: a calendar period's index in `CalendarPeriod.allCases`, or 8 for a
    /// rolling pane.
    public var lane: Int32
    public var windowStart: EpochMillis
    public var windowEnd: EpochMillis
    /// Canonical label JSON of the label set.
    public var labels: String
    public var samples: Int64
    public var sum: Double
    /// ±infinity while `samples` is 0.
    public var min: Double
    public var max: Double
    public var distinctMode: DistinctMode
    /// The HyperLogLog registers (see ``HyperLogLog/checkpointBytes``) when estimated.
    public var estimate: [UInt8]?
    /// The quantile sketch (see ``QuantileSketch/checkpointBytes``) of a quantile metric.
    public var sketch: [UInt8]?

    public init(serial: Int64, metric: String, lane: Int32, windowStart: EpochMillis, windowEnd: EpochMillis, labels: String,
                samples: Int64, sum: Double, min: Double, max: Double, distinctMode: DistinctMode,
                estimate: [UInt8]? = nil, sketch: [UInt8]? = nil) {
        self.serial = serial
        self.metric = metric
        self.lane = lane
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.labels = labels
        self.samples = samples
        self.sum = sum
        self.min = min
        self.max = max
        self.distinctMode = distinctMode
        self.estimate = estimate
        self.sketch = sketch
    }
}

/// What changed in a ``WindowEngine``'s state since its previous checkpoint: written in the same
/// transaction as the rows of the flush that produced it, so the stored state and the stored
/// aggregates always agree.
///
/// Applying the checkpoints of every flush in order to an empty store leaves exactly the engine's
/// state (see ``EngineState``): cells are upserted whole, exact distinct elements are appended,
/// freed cells are deleted with their elements.
public struct EngineCheckpoint: Sendable {
    /// The largest event time seen (the watermark is derived from it).
    public var maxEventTime: EpochMillis
    /// True when ``maxEventTime`` moved since the previous checkpoint.
    public var maxEventTimeMoved = false
    /// The next cell serial.
    public var nextSerial: Int64
    /// Cells changed since the previous checkpoint, whole.
    public var cells: [CellCheckpoint] = []
    /// Exact distinct elements added since: `distinctHashes[i]` to the cell `distinctSerials[i]`.
    public var distinctSerials: [Int64] = []
    public var distinctHashes: [UInt64] = []
    /// Cells freed (final windows emitted, rolling panes no window needs): deleted after the
    /// upserts above.
    public var removed: [Int64] = []
    /// Label sets a metric admitted since (metric name, canonical label JSON), in admission order.
    public var labelSets: [(metric: String, labels: String)] = []
    /// Per rolling metric, the last step boundary emitted final.
    public var rollingLastFinal: [String: EpochMillis] = [:]
    /// Per metric, its definition's fingerprint (``WindowEngine/fingerprints``); in the first
    /// checkpoint after start or restore only.
    public var fingerprints: [String: String] = [:]

    public init(maxEventTime: EpochMillis, nextSerial: Int64) {
        self.maxEventTime = maxEventTime
        self.nextSerial = nextSerial
    }

    /// True when applying it would change nothing.
    public var isEmpty: Bool {
        !maxEventTimeMoved && cells.isEmpty && distinctHashes.isEmpty && removed.isEmpty && labelSets.isEmpty
            && fingerprints.isEmpty
    }
}

/// A ``WindowEngine``'s whole state as loaded from a store, for ``WindowEngine/restore(_:)``.
public struct EngineState: Sendable {
    public var maxEventTime: EpochMillis = .min
    public var nextSerial: Int64 = 1
    /// Per metric, the label sets it admitted, in admission order.
    public var labelSets: [String: [String]] = [:]
    public var cells: [CellCheckpoint] = []
    /// The exact distinct elements per cell serial.
    public var distinct: [Int64: [UInt64]] = [:]
    public var rollingLastFinal: [String: EpochMillis] = [:]
    public init() {}
}

/// The dedupe keys a qualification pipeline counted or moved since its previous checkpoint, and
/// the expiry cutoff: stored keys whose last counted click is at or before `expiredThrough` are
/// gone.
public struct DedupeCheckpoint: Sendable {
    public var pipeline: String
    /// Keys (as stored, see ``DuplicateClickWindow``) and their last counted time.
    public var keys: [UInt64] = []
    public var times: [EpochMillis] = []
    public var expiredThrough: EpochMillis?
    public init(pipeline: String) { self.pipeline = pipeline }
}

/// Everything a flush checkpoints: the engine, the dedupe keys of each pipeline, and the last
/// sequence number per publisher `src`.
public struct StateCheckpoint: Sendable {
    public var engine: EngineCheckpoint
    public var dedupe: [DedupeCheckpoint] = []
    /// Publishers whose last `seq` changed since the previous checkpoint.
    public var sequences: [(src: String, last: Int64)] = []
    public init(engine: EngineCheckpoint) { self.engine = engine }

    /// True when applying it would change nothing.
    public var isEmpty: Bool {
        engine.isEmpty && sequences.isEmpty
            && dedupe.allSatisfy { $0.keys.isEmpty && $0.expiredThrough == nil }
    }
}

/// A pipeline's whole checkpointed state as loaded from a store.
public struct PipelineState: Sendable {
    public var engine = EngineState()
    /// Per pipeline: keys and last counted times, oldest first.
    public var dedupe: [String: (keys: [UInt64], times: [EpochMillis])] = [:]
    public var sequences: [(src: String, last: Int64)] = []
    public init() {}
}
