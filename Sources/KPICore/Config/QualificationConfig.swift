/// One qualification filter of a pipeline. They always run in this order: a bot is dropped
/// before its referrer is looked at, and only a click that passed the first two filters can
/// be *counted* by the duplicate filter (and so hide later clicks).
public enum QualificationFilter: String, Sendable, Equatable, CaseIterable, Comparable {
    /// The user agent is missing, empty, or matches a bot pattern (and no allow-list entry).
    case bot
    /// The normalised referrer equals the event's own normalised URL (a reload).
    case selfReferrer = "self_referrer"
    /// The same dedupe key had a counted event less than `dedupe_window` away in event time.
    case duplicate

    /// Position in the fixed filter order (0, 1, 2), without building `allCases`.
    @inline(__always)
    public var ordinal: Int {
        switch self {
        case .bot: return 0
        case .selfReferrer: return 1
        case .duplicate: return 2
        }
    }

    public static func < (a: QualificationFilter, b: QualificationFilter) -> Bool { a.ordinal < b.ordinal }
}

/// A named qualification pipeline: which events it reads, which fields hold what, and which
/// filters run. Metrics read its output with `pipeline = "<name>"` instead of `events`.
public struct QualificationPipelineConfig: Sendable, Equatable {
    public var name: String
    /// Event types the pipeline qualifies, e.g. `["click"]`.
    public var events: [String]
    /// Filters that run, always in ``QualificationFilter`` order.
    public var filters: [QualificationFilter] = QualificationFilter.allCases
    /// Field holding the user agent (default `user_agent`).
    public var userAgentField = "user_agent"
    /// Field holding the visitor id (default `visitor`); part of the default dedupe key.
    public var visitorField = "visitor"
    /// Fields whose values form the dedupe key (default `[visitor, listing]`). An event with any
    /// of them absent or null is rejected as `missing_dedupe_key`.
    public var dedupeKey: [String] = ["visitor", "listing"]
    /// Field holding the referrer (default `referrer`).
    public var referrerField = "referrer"
    /// Field holding the event's own URL (default `url`).
    public var urlField = "url"
    /// Two events of one key closer than this are duplicates (default 5 minutes).
    public var dedupeWindowMillis: Int64 = 300_000
    /// Most live dedupe keys; beyond it the oldest are evicted early and counted (default 10 M).
    public var maxDedupeKeys = 10_000_000
    /// User agents are cut to this many bytes before matching and caching (default 512).
    public var maxUserAgentBytes = 512
    /// Entries of the bot verdict cache (default 65,536).
    public var botCacheEntries = 65_536
    /// Bot patterns (crawler list and supplement) and allow-list entries, loaded from
    /// `bot_patterns` by the config loader.
    public var botPatterns = BotPatternSet(patterns: [])
    /// Fields of each qualified event kept in the `qualified_events` table; empty keeps no log.
    public var logFields: [String] = []
    /// How long logged qualified events are kept (default 30 days).
    public var logRetentionMillis: Int64 = 30 * 86_400_000

    public init(name: String, events: [String]) {
        self.name = name
        self.events = events
    }

    /// True when the filter runs in this pipeline.
    public func runs(_ f: QualificationFilter) -> Bool { filters.contains(f) }
}
