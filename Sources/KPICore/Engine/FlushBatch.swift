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
    /// True when the value is an estimate (a `distinct` count above `distinct_exact_max`).
    public var estimated: Bool

    public init(metric: String, period: String, windowStart: EpochMillis, windowEnd: EpochMillis,
                labels: String, value: Double?, samples: Int64, isFinal: Bool, estimated: Bool = false) {
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
    public init(watermark: EpochMillis) { self.watermark = watermark }
}
