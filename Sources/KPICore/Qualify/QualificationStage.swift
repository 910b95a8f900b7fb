/// What one qualification pipeline decided about one event.
public enum QualificationVerdict: Sendable, Equatable {
    /// The event passed every filter; metrics over the pipeline count it.
    case qualified
    /// A filter dropped it.
    case dropped(QualificationFilter)
    /// It cannot be qualified: a dedupe key field is absent or null (`missing_dedupe_key`).
    case missingDedupeKey
}

/// One qualification pipeline bound to decoder slots: bot user agent, then self-referrer, then
/// duplicate, as configured (see ``QualificationPipelineConfig``).
///
/// - Bot: the user agent (cut to `max_user_agent_bytes` first) goes through a bounded verdict
///   cache in front of the combined matcher. An absent, null, non-string or empty user agent is a bot.
/// - Self-referrer: ``SelfReferrerCheck`` compares the normalised referrer and URL without allocating;
///   a referrer or URL that is missing or not a URL is not a self-referral.
/// - Duplicate: the dedupe key fields are hashed to 64 bits and checked against
///   ``DuplicateClickWindow`` (only events that passed the filters before it reach it, and only
///   counted events are remembered).
///
/// Costs per event: a few slot reads, one cache probe (a hash of at most `max_user_agent_bytes`),
/// two URL scans, one hash-table probe (its slot prefetched by ``prepare(_:)``, which the pipeline
/// calls before it folds the raw event, so that the cache miss overlaps that fold). No
/// allocation. Time comes only from event times.
/// One stage belongs to one thread.
public final class QualificationStage: @unchecked Sendable {
    public let config: QualificationPipelineConfig
    /// The engine stream of the pipeline's qualified output.
    public let stream: Int
    private let userAgentSlot: Int
    private let referrerSlot: Int
    private let urlSlot: Int
    private let keySlots: [Int]
    private let runsBot: Bool
    private let runsSelfReferrer: Bool
    private let runsDuplicate: Bool
    private var bots: BotVerdictCache?
    private let dedupe: DuplicateClickWindow

    /// Events examined, qualified, dropped per filter (``QualificationFilter`` order) and rejected.
    public private(set) var examined: Int64 = 0
    public private(set) var qualified: Int64 = 0
    public private(set) var dropped: [Int64] = Array(repeating: 0, count: QualificationFilter.allCases.count)
    public private(set) var missingKey: Int64 = 0

    /// Binds the pipeline to the slots of `catalog` (which must hold the pipeline's fields, see
    /// ``QualificationHealth/fields(of:)``) and compiles its bot patterns.
    public init(config: QualificationPipelineConfig, catalog: FieldCatalog, stream: Int) throws(BotPatternError) {
        self.config = config
        self.stream = stream
        func slot(_ f: String) -> Int { catalog.existingSlot(for: f) ?? -1 }
        userAgentSlot = slot(config.userAgentField)
        referrerSlot = slot(config.referrerField)
        urlSlot = slot(config.urlField)
        keySlots = config.dedupeKey.map(slot)
        runsBot = config.runs(.bot)
        runsSelfReferrer = config.runs(.selfReferrer)
        runsDuplicate = config.runs(.duplicate)
        if runsBot {
            let matcher = try BotUserAgentMatcher(config.botPatterns, maxUserAgentBytes: config.maxUserAgentBytes)
            bots = BotVerdictCache(matcher: matcher, capacity: config.botCacheEntries)
        }
        dedupe = DuplicateClickWindow(window: config.dedupeWindowMillis, maxLiveKeys: config.maxDedupeKeys)
    }

    /// The first half of ``qualify(_:at:prepared:)``, called before other work on the same event:
    /// the event's dedupe key, with a prefetch of the key's slot in the dedupe table, so that the
    /// probe's likely cache miss overlaps that work. Nil when a dedupe key field is absent or null
    /// (`missing_dedupe_key`); 0 when the pipeline has no duplicate filter. No state changes.
    @inline(__always)
    public func prepare(_ slots: UnsafeBufferPointer<FieldValue>) -> UInt64? {
        guard runsDuplicate else { return 0 }
        for s in keySlots where slots[s].kind == .absent || slots[s].kind == .null { return nil }
        let key = DuplicateClickWindow.key(of: slots, slots: keySlots)
        dedupe.prefetch(key)
        return key
    }

    /// Qualifies the event at event time `ts` whose fields are `slots`; `prepared` is what
    /// ``prepare(_:)`` returned for them.
    @inline(__always)
    public func qualify(_ slots: UnsafeBufferPointer<FieldValue>, at ts: EpochMillis, prepared: UInt64?) -> QualificationVerdict {
        examined &+= 1
        // Checked first so that an event that can never be deduplicated is reported as such,
        // whatever the other filters would say.
        guard let key = prepared else {
            missingKey &+= 1
            return .missingDedupeKey
        }
        if runsBot {
            let ua = slots[userAgentSlot]
            let isBot = ua.kind != .string || ua.string.isEmpty || bots!.isBot(ua.string)
            if isBot { return drop(.bot) }
        }
        if runsSelfReferrer {
            let ref = slots[referrerSlot], url = slots[urlSlot]
            if SelfReferrerCheck.isSelfReferral(referrer: ref, url: url) {
                return drop(.selfReferrer)
            }
        }
        if runsDuplicate, dedupe.check(key, at: ts) == .duplicate {
            return drop(.duplicate)
        }
        qualified &+= 1
        return .qualified
    }

    @inline(__always)
    private func drop(_ f: QualificationFilter) -> QualificationVerdict {
        dropped[f.ordinal] &+= 1
        return .dropped(f)
    }

    /// Forgets dedupe keys that can no longer make an event a duplicate: those whose last counted
    /// event is at least the dedupe window older than `watermark`.
    public func expire(watermark: EpochMillis) {
        dedupe.expire(before: watermark)
    }

    /// Live dedupe keys.
    public var liveDedupeKeys: Int { dedupe.liveKeys }
    /// Keys evicted early because the table reached `max_dedupe_keys`.
    public var dedupeEvictions: Int64 { Int64(dedupe.evictions) }
    /// Bot verdict cache hits and misses.
    public var botCacheHits: Int64 { bots?.hits ?? 0 }
    public var botCacheMisses: Int64 { bots?.misses ?? 0 }

    // MARK: - Checkpoints

    /// Starts logging the dedupe keys counted, for ``checkpoint(watermark:)``.
    public func recordDedupeChanges() { dedupe.recordsChanges = true }

    /// The dedupe keys counted since the previous checkpoint, and the cutoff of
    /// ``expire(watermark:)`` at `watermark`: stored keys counted at or before it are gone.
    public func checkpoint(watermark: EpochMillis) -> DedupeCheckpoint {
        var c = DedupeCheckpoint(pipeline: config.name)
        (c.keys, c.times) = dedupe.takeChanges()
        let (limit, overflow) = watermark.subtractingReportingOverflow(dedupe.window)
        if !overflow, limit != checkpointedExpiry {
            c.expiredThrough = limit
            checkpointedExpiry = limit
        }
        return c
    }

    /// The expiry cutoff of the previous checkpoint.
    private var checkpointedExpiry: EpochMillis = .min

    /// Loads checkpointed dedupe keys (oldest first) into this stage, which must be new.
    public func restoreDedupe(keys: [UInt64], times: [EpochMillis]) {
        for (k, t) in zip(keys, times) { dedupe.restore(k, lastCounted: t) }
    }
}
