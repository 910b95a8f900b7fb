/// The whole configuration of one kpid instance, as compiled from `kpid.toml`.
///
/// It is a plain value: the loader in `KPIConfig` builds it, the engine and the adapters
/// read it. Two configs compare equal when they would behave the same.
public struct KpidConfig: Sendable, Equatable {
    /// IANA time zone of calendar windows when a metric names none (default `UTC`).
    public var timeZone: String = "UTC"
    /// How far behind the largest event time seen a window stays open (default 1 minute).
    public var allowedLatenessMillis: Int64 = 60_000
    /// How often changed aggregates are written to SQLite (default 1 s).
    public var flushIntervalMillis: Int64 = 1_000
    /// Events stamped further than this ahead of the wall clock are rejected as `ts_in_future`
    /// (default 10 minutes), so that one bad clock cannot close every open window.
    public var maxFutureMillis: Int64 = 600_000
    /// Count gaps, duplicates and resets of the publishers' `src`/`seq` fields (default true).
    public var trackSequences = true
    /// Parse large messages on a second thread while the ingest thread folds the previous ones
    /// (`[kpid] decode_ahead`); nil (the default) means on when the machine has more than one
    /// CPU. The results are the same either way.
    public var decodeAhead: Bool?
    /// Label sets a metric may create before further ones are counted under the overflow label
    /// set (`[kpid] max_label_sets`, default 10,000); a metric's ``MetricDefinition/maxLabelSets``
    /// overrides it.
    public var maxLabelSets = 10_000
    /// Default of every metric's ``MetricDefinition/distinctExactMax`` (`[kpid] distinct_exact_max`).
    public var distinctExactMax = KpidConfig.defaultDistinctExactMax
    /// `distinct_exact_max` when nothing sets it.
    public static let defaultDistinctExactMax = 100_000
    /// The largest `distinct_exact_max` accepted (the exact set then holds at most ~1.5 GB).
    public static let maxDistinctExactMax = 100_000_000
    public var storage = StorageConfig()
    /// How long final aggregate rows are kept per period (`[retention]`).
    public var retention = RetentionConfig()
    public var status = StatusConfig()
    public var limits = LimitsConfig()
    /// The event journal (`[journal]`); which sources journal is each source's ``SourceConfig/journal``.
    public var journal = JournalConfig()
    public var sources: [SourceConfig] = []
    public var metrics: [MetricDefinition] = []
    /// Derived metrics (`[[metrics]]` entries with `expr`), in dependency order: an operand that
    /// is itself derived comes before the metrics that read it.
    public var derivedMetrics: [DerivedMetricDefinition] = []
    /// Qualification pipelines; metrics read their output with `pipeline = "<name>"`.
    public var pipelines: [QualificationPipelineConfig] = []
    /// Per-publisher permissions of authenticated (CURVE) publishers.
    public var publishers: [PublisherConfig] = []
    /// What publishers without a `[[publishers]]` entry may send. The default
    /// (``effectiveUnlistedPublishers``) is `deny` once any entry exists, `allow` otherwise.
    public var unlistedPublishers: UnlistedPublisherPolicy?
    /// Alert rules (`[[alerts]]`), receivers (`[[receivers]]`) and routing (`[alerting]`).
    public var alertRules: [AlertRule] = []
    public var receivers: [ReceiverConfig] = []
    public var alerting = AlertingConfig()

    public init() {}

    /// ``unlistedPublishers``, or its default: `deny` when `[[publishers]]` entries exist.
    public var effectiveUnlistedPublishers: UnlistedPublisherPolicy {
        unlistedPublishers ?? (publishers.isEmpty ? .allow : .deny)
    }

    /// The pipeline named `name`.
    public func pipeline(named name: String) -> QualificationPipelineConfig? {
        pipelines.first { $0.name == name }
    }
}

/// The HTTP status listener (`/metrics`, `/healthz`).
public struct StatusConfig: Sendable, Equatable {
    /// False turns the listener off.
    public var enabled = true
    /// Address to bind (default loopback only).
    public var host = "127.0.0.1"
    /// Port to bind (default 9465; 0 picks a free one, logged at startup).
    public var port = 9465
    public init() {}
}

/// Where and how kpid keeps its SQLite database.
public struct StorageConfig: Sendable, Equatable {
    /// Path of the SQLite file; relative paths are taken from the working directory.
    public var path: String = "kpid.db"
    /// Most rows kept in the `rejects` table per reason (default 1000); older ones are pruned.
    public var rejectSamplesPerReason: Int = 1_000
    public init() {}
}

/// Bounds on input, each counted when it bites.
public struct LimitsConfig: Sendable, Equatable {
    /// Largest ZeroMQ message accepted (`ZMQ_MAXMSGSIZE`, default 1 MiB). A peer sending more is disconnected by libzmq.
    public var maxMessageBytes: Int = 1 << 20
    /// Most events decoded from one NDJSON frame (default 10,000); the rest are rejected as `too_many_events`.
    public var maxEventsPerFrame: Int = 10_000
    /// Most fields in one event, read or not (default 256); more is rejected as `too_many_fields`.
    public var maxFieldsPerEvent: Int = 256
    /// Longest string value of a field kpid reads, in bytes after unescaping (default 64 KiB);
    /// longer is rejected as `field_too_long`. Fields no metric or filter reads are not measured.
    public var maxFieldBytes: Int = 64 << 10
    /// Bytes of the offending input kept in a reject sample (default 256).
    public var rejectSampleBytes: Int = 256
    public init() {}
}

/// The event journal: received messages of journaled sources are appended to the `journal`
/// table in group commits, and replayed after the last checkpoint at start.
public struct JournalConfig: Sendable, Equatable {
    /// How often the received messages are committed to the journal (default 100 ms): the most
    /// a SIGKILL can lose, plus the writer's queue delay.
    public var commitIntervalMillis: Int64 = 100
    /// Checkpointed journal rows older than this (by receive time) are pruned (default 30 days).
    public var retentionMillis: Int64 = 30 * 86_400_000
    /// Most bytes received but not yet committed (default 64 MiB). Beyond it messages are still
    /// processed but not journaled, and counted as `journal_backlog_dropped{source}`.
    public var maxBacklogBytes: Int = 64 << 20
    /// How a journaled message's frames are stored (default LZ4).
    public var compression: JournalCompression = .lz4
    public init() {}
}

/// `[journal] compression`: how the journal stores a message's frames.
public enum JournalCompression: String, Sendable, Equatable, CaseIterable {
    /// As received.
    case none
    /// An LZ4 block, when that is smaller (NDJSON batches shrink several times, which divides the
    /// bytes written to the WAL and again to the database file); otherwise as received.
    case lz4
}

/// The ZeroMQ socket kinds kpid can receive on.
public enum SourceKind: String, Sendable, Equatable, CaseIterable {
    /// Publishers PUB; kpid SUBscribes with prefixes. Drops at the high-water mark.
    case sub
    /// Publishers PUSH; kpid PULLs. Back-pressure instead of drops.
    case pull
}

/// One ZeroMQ endpoint set that kpid receives events on.
public struct SourceConfig: Sendable, Equatable {
    public var name: String
    public var kind: SourceKind
    /// Endpoints to bind, e.g. `tcp://127.0.0.1:5555`, `ipc:///run/kpid/events`.
    public var bind: [String] = []
    /// Endpoints to connect to.
    public var connect: [String] = []
    /// SUB prefixes (default `[""]`, everything). Ignored for PULL.
    public var subscribe: [String] = [""]
    /// `ZMQ_RCVHWM` (default 100,000 messages).
    public var receiveHighWaterMark: Int = 100_000
    /// CURVE authentication and encryption, when configured.
    public var curve: CurveSourceConfig?
    /// Append every received message to the event journal (`journal = true`, default false), so
    /// that a crash loses at most the last uncommitted `[journal] commit_interval`.
    public var journal = false

    public init(name: String, kind: SourceKind) {
        self.name = name
        self.kind = kind
    }
}

/// Calendar windows, computed in a time zone. Weeks are ISO weeks, starting on Monday.
public enum CalendarPeriod: String, Sendable, Equatable, CaseIterable, Comparable {
    case minute, hour, day, week, month

    public static func < (a: CalendarPeriod, b: CalendarPeriod) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// What a metric computes over the events of one window and label set.
public enum AggregateSpec: Sendable, Equatable {
    /// Number of events.
    case count
    /// Sum of a numeric field.
    case sum(String)
    /// Smallest value of a numeric field.
    case min(String)
    /// Largest value of a numeric field.
    case max(String)
    /// Mean of a numeric field.
    case avg(String)
    /// Number of distinct values of a field: exact (64-bit hashes of the values) up to the
    /// metric's ``MetricDefinition/distinctExactMax`` per window and label set, estimated with a
    /// HyperLogLog above it.
    case distinct(String)
    /// Quantiles (each in `(0, 1]`, ascending, no repeats) of a numeric field, from a sketch
    /// within 1% relative error; `median(f)` is `quantile(f, [0.5])`. One row per quantile.
    case quantile(String, [Double])

    /// The field the aggregate reads, or nil for `count`.
    public var field: String? {
        switch self {
        case .count: return nil
        case .sum(let f), .min(let f), .max(let f), .avg(let f), .distinct(let f), .quantile(let f, _): return f
        }
    }

    /// True when the aggregate needs its field to be a number.
    public var needsNumber: Bool {
        switch self {
        case .sum, .min, .max, .avg, .quantile: return true
        case .count, .distinct: return false
        }
    }
}

/// One metric: which events, which filter, which aggregate, grouped how, in which windows.
public struct MetricDefinition: Sendable, Equatable {
    public var name: String
    /// Event types read (the event's `type`, or its topic frame). For a metric over a pipeline,
    /// the pipeline's event types.
    public var events: [String]
    /// The qualification pipeline whose qualified output the metric reads, or nil for raw events.
    public var pipeline: String?
    public var filter: FilterExpr?
    public var aggregate: AggregateSpec
    /// Fields whose values form the label set of a row.
    public var groupBy: [String] = []
    public var windows: [CalendarPeriod]
    /// IANA zone of this metric's windows; nil means the global one.
    public var timeZone: String?
    /// A rolling window computed alongside (or instead of) the calendar `windows`.
    public var rolling: RollingWindow?
    /// Cap on the label sets of this metric; nil means ``KpidConfig/maxLabelSets``. Events of
    /// label sets beyond it are counted under `{"__overflow__":"true"}`.
    public var maxLabelSets: Int?
    /// For `distinct`: exact up to this many values per window and label set, estimated above
    /// (`distinct_exact_max`, default `[kpid] distinct_exact_max`, itself default 100,000).
    public var distinctExactMax: Int = KpidConfig.defaultDistinctExactMax

    public init(name: String, events: [String], filter: FilterExpr? = nil, aggregate: AggregateSpec,
                groupBy: [String] = [], windows: [CalendarPeriod], timeZone: String? = nil,
                pipeline: String? = nil, rolling: RollingWindow? = nil, maxLabelSets: Int? = nil) {
        self.rolling = rolling
        self.maxLabelSets = maxLabelSets
        self.name = name
        self.pipeline = pipeline
        self.events = events
        self.filter = filter
        self.aggregate = aggregate
        self.groupBy = groupBy
        self.windows = windows
        self.timeZone = timeZone
    }
}
