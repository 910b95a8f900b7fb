/// Why an input was not counted. Every reason is a row label in the `counters` table
/// (`rejects{reason=…}`) and the `reason` of its samples in the `rejects` table.
public enum RejectReason: String, Sendable, CaseIterable {
    /// The bytes are not valid JSON (truncated, NaN literals, trailing garbage…).
    case malformedJSON = "malformed_json"
    /// Valid JSON that is not an object.
    case notObject = "not_object"
    /// A field value is an object or an array; events are flat.
    case nestedValue = "nested_value"
    /// A number outside the range of a double (`1e400`).
    case badNumber = "bad_number"
    /// A string is not valid UTF-8.
    case invalidUTF8 = "invalid_utf8"
    /// The same field twice in one event.
    case duplicateKey = "duplicate_key"
    /// Neither a `type` field nor a topic frame.
    case missingType = "missing_type"
    /// `type` is present but not a string.
    case badType = "bad_type"
    /// The event's `type` differs from the topic frame it was published under.
    case typeTopicMismatch = "type_topic_mismatch"
    /// `ts` is neither epoch milliseconds nor an RFC 3339 string, or out of range.
    case badTimestamp = "bad_ts"
    /// `ts` is further ahead of the wall clock than `max_future`.
    case timestampInFuture = "ts_in_future"
    /// A message with more frames than topic + payload.
    case tooManyFrames = "too_many_frames"
    /// A frame with more events than `limits.max_events_per_frame`.
    case tooManyEvents = "too_many_events"
    /// An event with more fields than `limits.max_fields_per_event`.
    case tooManyFields = "too_many_fields"
    /// An extracted string field longer than `limits.max_field_bytes`.
    case fieldTooLong = "field_too_long"
    /// An empty frame.
    case emptyFrame = "empty_frame"
    /// A metric needs a field of another JSON type (counted per metric).
    case wrongFieldType = "wrong_field_type"
    /// A numeric or distinct aggregate's field is absent or null (counted per metric).
    case missingField = "missing_field"
    /// The event's window was already final (counted per metric).
    case late = "late"
    /// A qualification pipeline's dedupe key field is absent or null (the event still counts in
    /// metrics over raw events, but not in metrics over the pipeline).
    case missingDedupeKey = "missing_dedupe_key"
    /// An authenticated publisher sent an event type outside its `[[publishers]]` `types`.
    case forbiddenType = "forbidden_type"
    /// An authenticated publisher sent a tenant outside its `[[publishers]]` `tenants` (or none).
    case forbiddenTenant = "forbidden_tenant"
    /// An authenticated publisher without a `[[publishers]]` entry, while unlisted publishers are denied.
    case forbiddenPublisher = "forbidden_publisher"
    /// A numeric aggregate's field is NaN or an infinity (counted per metric).
    case notFinite = "not_finite"
    /// A quantile's field is negative: a sketch holds values ≥ 0 (counted per metric).
    case negativeValue = "negative_value"
}

/// A bounded sample of one rejected input, for the `rejects` table.
public struct RejectSample: Sendable, Equatable {
    public var receivedAt: EpochMillis
    public var reason: RejectReason
    /// The source (endpoint set) it came from.
    public var source: String
    /// The metric that refused it, for per-metric reasons.
    public var metric: String?
    /// A short human explanation.
    public var detail: String?
    /// The first bytes of the offending input.
    public var sample: [UInt8]

    public init(receivedAt: EpochMillis, reason: RejectReason, source: String, metric: String? = nil,
                detail: String? = nil, sample: [UInt8]) {
        self.receivedAt = receivedAt
        self.reason = reason
        self.source = source
        self.metric = metric
        self.detail = detail
        self.sample = sample
    }
}

/// An increment of a named health counter with labels, for the `counters` table.
public struct CounterDelta: Sendable, Hashable {
    /// Counter name, e.g. `events_received`, `rejects`, `late_events`.
    public var name: String
    /// Canonical label JSON.
    public var labels: String
    public var delta: Int64
    public init(name: String, labels: String, delta: Int64) {
        self.name = name
        self.labels = labels
        self.delta = delta
    }
}

/// One qualified event kept for audit in the `qualified_events` table (pipelines with `log_fields`).
public struct QualifiedEvent: Sendable, Equatable {
    public var pipeline: String
    public var timestamp: EpochMillis
    /// Canonical JSON of the logged fields (absent fields are left out).
    public var fields: String
    public init(pipeline: String, timestamp: EpochMillis, fields: String) {
        self.pipeline = pipeline
        self.timestamp = timestamp
        self.fields = fields
    }
}
