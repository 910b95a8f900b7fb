// Temporary until the bots branch lands: the agreed shape of a bot pattern.
public enum BotPatternOrigin: String, Sendable, Equatable { case crawlerList, supplement, allow }
public struct BotPattern: Sendable, Equatable {
    public var regex: String
    public var origin: BotPatternOrigin
    public init(regex: String, origin: BotPatternOrigin) { self.regex = regex; self.origin = origin }
}

// Temporary stand-ins until the bots and dedupe branches land (replaced at merge).
public struct BotPatternError: Error, Sendable {}
public final class BotUserAgentMatcher: @unchecked Sendable {
    public init(patterns: [BotPattern], allow: [BotPattern], maxUserAgentBytes: Int = 512) throws(BotPatternError) {}
    public func isBot(_ userAgent: UnsafeRawBufferPointer) -> Bool { userAgent.isEmpty }
}
public struct BotVerdictCache {
    let matcher: BotUserAgentMatcher
    public init(matcher: BotUserAgentMatcher, capacity: Int = 65_536) { self.matcher = matcher }
    public mutating func isBot(_ userAgent: UnsafeRawBufferPointer) -> Bool { matcher.isBot(userAgent) }
    public var hits: Int64 { 0 }
    public var misses: Int64 { 0 }
}
public struct DuplicateClickWindow {
    var last: [UInt64: Int64] = [:]
    let window: Int64
    public init(window: Int64, capacity: Int) { self.window = window }
    public mutating func isDuplicate(key: UInt64, at ts: Int64) -> Bool {
        if let l = last[key], abs(ts - l) < window { return true }
        last[key] = max(ts, last[key] ?? .min)
        return false
    }
    public mutating func expire(watermark: Int64) {}
    public var liveKeys: Int { last.count }
    public var evictions: Int64 { 0 }
}
public enum SelfReferrer {
    public static func isSelfReferral(referrer: UnsafeRawBufferPointer, url: UnsafeRawBufferPointer) -> Bool {
        referrer.elementsEqual(url)
    }
}
