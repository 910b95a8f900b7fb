/// One row of the `aggregates` table: the current value of a (metric, period, window, labels).
public struct AggregateRow: Sendable, Equatable {
    public var metric: String
    /// `minute`, `hour`, `day`, `week` or `month`.
    public var period: String
    public var windowStart: EpochMillis
    public var windowEnd: EpochMillis
    /// Canonical label JSON, see ``CanonicalLabels``.
    public var labels: String
    /// nil when the aggregate has no value (never NaN).
    public var value: Double?
    /// Events that fed the value.
    public var samples: Int64
    /// True once the watermark passed `windowEnd`: the value will not change again.
    public var isFinal: Bool
    /// Derived metrics: why ``value`` is nil (a ``DerivedReason`` raw value); nil otherwise.
    public var reason: String?
    /// Derived metrics: the numerator of a ratio or percent, the current value of change/delta.
    public var numerator: Double?
    /// Derived metrics: the denominator of a ratio or percent, the previous value of change/delta.
    public var denominator: Double?
    /// True when the value is an estimate (a quantile from its sketch, or a `distinct` count above
    /// `distinct_exact_max`).
    public var estimated: Bool

    public init(metric: String, period: String, windowStart: EpochMillis, windowEnd: EpochMillis,
                labels: String, value: Double?, samples: Int64, isFinal: Bool,
                estimated: Bool = false, reason: String? = nil, numerator: Double? = nil, denominator: Double? = nil) {
        self.reason = reason
        self.numerator = numerator
        self.denominator = denominator
        self.metric = metric
        self.period = period
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.labels = labels
        self.value = value
        self.samples = samples
        self.isFinal = isFinal
        self.estimated = estimated
    }
}

/// What one flush hands to the store: every row that changed or became final since the last one.
public struct FlushBatch: Sendable {
    public var rows: [AggregateRow] = []
    /// The watermark when the batch was cut.
    public var watermark: EpochMillis
    /// Windows in which a metric counted its first event under the overflow label set since the
    /// last batch (one notice per metric and window, for a warning in the log).
    public var labelOverflows: [LabelOverflowNotice] = []
    /// What changed in the engine's state since the previous batch, when the engine is
    /// ``WindowEngine/checkpointing``.
    public var checkpoint: EngineCheckpoint?
    public init(watermark: EpochMillis) { self.watermark = watermark }
}

/// A metric reached its `max_label_sets` and counted events of a new label set under
/// `{"__overflow__":"true"}` in this window.
public struct LabelOverflowNotice: Sendable, Equatable {
    public var metric: String
    /// The period of the window (`hour`…), or `rolling:SPAN pane` for a pane of a rolling window.
    public var period: String
    public var windowStart: EpochMillis
    public var windowEnd: EpochMillis
    /// The metric's cap.
    public var maxLabelSets: Int
}
