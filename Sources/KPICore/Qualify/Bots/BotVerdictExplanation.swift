import Foundation

/// Why a user agent is or is not a bot: what `kpictl bot-check --explain` prints.
public struct BotVerdictExplanation: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, Equatable {
        /// Empty (after truncation) or missing: a bot.
        case emptyUserAgent = "empty"
        /// `pattern` matched `matchedText` outside every allow-list entry: a bot.
        case matched
        /// No bot pattern matched and neither did any browser marker: a bot.
        case noBrowserMarker = "no-browser-marker"
        /// A browser: no bot pattern matched (or `allowedBy` covered every match), and a
        /// browser marker did.
        case human
    }

    public var isBot: Bool
    public var reason: Reason
    /// The bot pattern that decided; for a human saved by the allow-list, the pattern that
    /// would have flagged it.
    public var pattern: BotPattern?
    /// The text `pattern` matched.
    public var matchedText: String?
    /// The allow-list entry whose text covered `pattern`'s match.
    public var allowedBy: BotPattern?

    public init(isBot: Bool, reason: Reason, pattern: BotPattern? = nil, matchedText: String? = nil, allowedBy: BotPattern? = nil) {
        self.isBot = isBot
        self.reason = reason
        self.pattern = pattern
        self.matchedText = matchedText
        self.allowedBy = allowedBy
    }

    /// One tab-separated line: verdict, reason, then the patterns involved.
    ///
    ///     bot	crawler-list	Googlebot\/	"Googlebot/"
    ///     bot	no-browser-marker
    ///     human	allowed	allow: ; (CUBOT|HTC Butterfly|…)	overrides supplement: bot	"CUBOT"
    public var description: String {
        var parts = [isBot ? "bot" : "human"]
        switch reason {
        case .emptyUserAgent, .noBrowserMarker:
            parts.append(reason.rawValue)
        case .matched:
            if let pattern {
                parts.append(pattern.origin.rawValue)
                parts.append(pattern.regex)
            }
            if let matchedText { parts.append(quoted(matchedText)) }
        case .human:
            if let allowedBy, let pattern {
                parts.append("allowed")
                parts.append("allow: \(allowedBy.regex)")
                parts.append("overrides \(pattern.origin.rawValue): \(pattern.regex)")
                if let matchedText { parts.append(quoted(matchedText)) }
            }
        }
        return parts.joined(separator: "\t")
    }

    private func quoted(_ s: String) -> String {
        "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }
}
