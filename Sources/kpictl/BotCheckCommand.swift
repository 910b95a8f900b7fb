import ArgumentParser
import Foundation
import KPIConfig
import KPICore

/// `kpictl bot-check`: the bot filter's verdict for user agents read from stdin, one per line.
///
///     $ printf 'curl/8.5.0\nMozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0\n' \
///         | kpictl bot-check --explain
///     bot	supplement	^curl	"curl"
///     human
struct BotCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bot-check",
        abstract: "Print bot or human for each user agent on stdin (one per line), in order.",
        discussion: """
        Uses the same matcher as kpid's bot filter (crawler list + supplement, allow-list, browser \
        markers; see conf/bots/README.md). An empty line is a bot, as a missing user agent is. \
        With --explain each verdict is followed, tab-separated, by its reason: the matching \
        pattern and its origin, "no-browser-marker", "empty", or the allow-list entry that \
        saved the user agent and the pattern it overrode.
        """
    )

    @Option(name: .customLong("patterns-dir"), help: "Directory of the pattern files.")
    var patternsDirectory = "conf/bots"

    @Flag(help: "Also print why: the matching pattern and its origin, or the allow-list entry.")
    var explain = false

    @Option(name: .customLong("max-bytes"), help: "Truncate user agents to this many bytes before matching.")
    var maxBytes = 512

    @Flag(help: "Print how the patterns were compiled (to stderr) before checking.")
    var stats = false

    func run() throws {
        let matcher: BotUserAgentMatcher
        do {
            matcher = try BotPatternFiles.matcher(directory: patternsDirectory, maxUserAgentBytes: maxBytes)
        } catch {
            FileHandle.standardError.write(Data("kpictl: invalid bot patterns: \(error)\n".utf8))
            throw ExitCode(ConfigError.exitCode)
        }
        if stats {
            let s = matcher.statistics
            var text = "patterns \(s.patterns): \(s.exact) exact, \(s.verifiedOnLiteral) regex on literal, "
            text += "\(s.alwaysVerified) always verified; \(s.literals) literals, \(s.automatonStates) automaton states\n"
            for p in matcher.alwaysVerifiedPatterns { text += "  always verified: \(p)\n" }
            FileHandle.standardError.write(Data(text.utf8))
        }
        let cache = BotVerdictCache(matcher: matcher, capacity: 4096)
        var out = ""
        while var line = readLine(strippingNewline: true) {
            if line.hasSuffix("\r") { line.removeLast() }
            if explain {
                out += matcher.explain(line).description
            } else {
                out += line.withUTF8 { cache.isBot(UnsafeRawBufferPointer($0)) } ? "bot" : "human"
            }
            out += "\n"
            if out.utf8.count >= 1 << 16 {
                FileHandle.standardOutput.write(Data(out.utf8))
                out = ""
            }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
