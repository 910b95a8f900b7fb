/// Where a bot-filter pattern comes from; shown by `kpictl bot-check --explain`.
public enum BotPatternOrigin: String, Sendable, Equatable, CaseIterable {
    /// The public crawler-user-agents list (`conf/bots/crawler-user-agents.json`), matched
    /// case-sensitively as its authors write it.
    case crawlerList = "crawler-list"
    /// kpid's own supplement (`conf/bots/supplement.txt`), case-insensitive.
    case supplement
    /// An allow-list entry (`conf/bots/allow.txt`): bot matches inside its text are ignored.
    case allow
    /// A browser marker (`conf/bots/browser-markers.txt`): a user agent with none is a bot.
    case browserMarker = "browser-marker"
}

/// One regular expression of the bot filter (ICU syntax, as `NSRegularExpression` reads it).
///
/// Invariant: `regex` is the text as written in its file, so that explanations quote it.
public struct BotPattern: Sendable, Equatable, CustomStringConvertible {
    public var regex: String
    public var origin: BotPatternOrigin
    /// Matched ignoring ASCII and Unicode case. The crawler list is case-sensitive, everything
    /// kpid maintains is not.
    public var caseInsensitive: Bool

    public init(regex: String, origin: BotPatternOrigin, caseInsensitive: Bool? = nil) {
        self.regex = regex
        self.origin = origin
        self.caseInsensitive = caseInsensitive ?? (origin != .crawlerList)
    }

    public var description: String { "\(origin.rawValue): \(regex)" }
}

/// Everything the bot filter matches with, as loaded from `conf/bots/`.
///
/// A user agent is a bot when it is empty, when a `patterns` entry matches outside the text of
/// every `allow` entry, or (if `browserMarkers` is not empty) when no browser marker matches.
public struct BotPatternSet: Sendable, Equatable {
    /// Crawler list then supplement, in file order; the first one that matches is reported.
    public var patterns: [BotPattern]
    public var allow: [BotPattern]
    public var browserMarkers: [BotPattern]

    public init(patterns: [BotPattern], allow: [BotPattern] = [], browserMarkers: [BotPattern] = []) {
        self.patterns = patterns
        self.allow = allow
        self.browserMarkers = browserMarkers
    }
}

/// A pattern that cannot be used: the matcher refuses to start rather than guess.
public enum BotPatternError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `NSRegularExpression` rejected the text; `index` is the position in its list.
    case invalidRegex(BotPattern, index: Int, reason: String)
    /// A pattern that matches the empty string would flag (or allow, or mark) every user agent.
    case matchesEmptyString(BotPattern, index: Int)
    case invalidMaxUserAgentBytes(Int)

    public var description: String {
        switch self {
        case let .invalidRegex(p, index, reason):
            return "\(p.origin.rawValue) pattern #\(index + 1) \"\(p.regex)\": invalid regular expression: \(reason)"
        case let .matchesEmptyString(p, index):
            return "\(p.origin.rawValue) pattern #\(index + 1) \"\(p.regex)\" matches the empty string, so it would match every user agent"
        case let .invalidMaxUserAgentBytes(n):
            return "max user agent bytes must be at least 1, not \(n)"
        }
    }
}
