import Foundation
import KPICore

/// Reads the bot filter's pattern files from a directory (`conf/bots` as shipped):
///
/// | file                       | origin          | required | format                                   |
/// |----------------------------|-----------------|----------|------------------------------------------|
/// | `crawler-user-agents.json` | `.crawlerList`  | yes      | JSON array of objects with `"pattern"`   |
/// | `supplement.txt`           | `.supplement`   | no       | one ICU regex a line, `#` comment lines  |
/// | `allow.txt`                | `.allow`        | no       | same                                     |
/// | `browser-markers.txt`      | `.browserMarker`| no       | same; absent or empty turns the rule off |
///
/// Every regex is compiled here, so a bad one is reported as `file:line: message` (the JSON
/// list has no useful lines: its errors name `[index].pattern`) rather than at startup of the
/// matcher. Errors exit with `EX_CONFIG` like every other config error.
public enum BotPatternFiles {
    public static let crawlerListFile = "crawler-user-agents.json"
    public static let supplementFile = "supplement.txt"
    public static let allowFile = "allow.txt"
    public static let browserMarkersFile = "browser-markers.txt"

    /// The pattern values of `directory`, validated.
    public static func load(directory: String) throws(ConfigError) -> BotPatternSet {
        let dir = URL(fileURLWithPath: directory)
        let listPath = dir.appendingPathComponent(crawlerListFile).path
        var patterns = try crawlerList(path: listPath)
        patterns += try lines(path: dir.appendingPathComponent(supplementFile).path, origin: .supplement)
        let allow = try lines(path: dir.appendingPathComponent(allowFile).path, origin: .allow)
        let markers = try lines(path: dir.appendingPathComponent(browserMarkersFile).path, origin: .browserMarker)
        return BotPatternSet(patterns: patterns, allow: allow, browserMarkers: markers)
    }

    /// ``load(directory:)`` and the matcher built from it.
    public static func matcher(directory: String, maxUserAgentBytes: Int = 512) throws(ConfigError) -> BotUserAgentMatcher {
        let set = try load(directory: directory)
        do {
            return try BotUserAgentMatcher(set, maxUserAgentBytes: maxUserAgentBytes)
        } catch {
            // Every regex was checked while loading; what is left is the size limit.
            throw ConfigError(key: "max_user_agent_bytes", line: nil, message: error.description, file: directory)
        }
    }

    /// The `"pattern"` of each entry of the crawler-user-agents JSON list.
    public static func crawlerList(path: String) throws(ConfigError) -> [BotPattern] {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigError(key: "", line: nil, message: "cannot read the crawler list: \(error.localizedDescription)",
                              hint: "run tools/refresh-bot-patterns.py", file: path)
        }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ConfigError(key: "", line: nil, message: "not valid JSON: \(error.localizedDescription)", file: path)
        }
        guard let array = json as? [Any] else {
            throw ConfigError(key: "", line: nil, message: "expected a JSON array of {\"pattern\": ...} objects", file: path)
        }
        var out: [BotPattern] = []
        out.reserveCapacity(array.count)
        for (i, item) in array.enumerated() {
            guard let object = item as? [String: Any], let text = object["pattern"] as? String else {
                throw ConfigError(key: "[\(i)].pattern", line: nil, message: "missing or not a string", file: path)
            }
            let p = BotPattern(regex: text, origin: .crawlerList)
            if let problem = check(p) {
                throw ConfigError(key: "[\(i)].pattern", line: nil, message: "\"\(text)\": \(problem)", file: path)
            }
            out.append(p)
        }
        return out
    }

    /// One pattern per non-blank line that does not start with `#`; surrounding spaces trimmed.
    /// A missing file is an empty list.
    public static func lines(path: String, origin: BotPatternOrigin) throws(ConfigError) -> [BotPattern] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigError(key: "", line: nil, message: "cannot read: \(error.localizedDescription)", file: path)
        }
        return try parseLines(text, origin: origin, file: path)
    }

    /// The line format of ``lines(path:origin:)``, for text already in memory.
    public static func parseLines(_ text: String, origin: BotPatternOrigin, file: String? = nil) throws(ConfigError) -> [BotPattern] {
        var out: [BotPattern] = []
        var lineNumber = 0
        // "\r\n" is one Character in Swift, and one line here.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let p = BotPattern(regex: line, origin: origin)
            if let problem = check(p) {
                throw ConfigError(key: "", line: lineNumber, message: "\"\(line)\": \(problem)", file: file)
            }
            out.append(p)
        }
        return out
    }

    /// Why `p` cannot be used, or nil. The same checks as ``BotUserAgentMatcher``'s init.
    static func check(_ p: BotPattern) -> String? {
        do {
            _ = try BotUserAgentMatcher.compile(p)
            return nil
        } catch {
            switch error {
            case let .invalidRegex(_, _, reason): return "invalid regular expression: \(reason)"
            case .matchesEmptyString: return "matches the empty string, so it would match every user agent"
            case .invalidMaxUserAgentBytes: return error.description
            }
        }
    }
}
