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
