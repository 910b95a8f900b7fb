import Foundation

/// Decides whether a user agent is a bot, without running every pattern on every event.
///
/// Rule (see `conf/bots/README.md`): after truncation to `maxUserAgentBytes`, a user agent is a
/// bot when it is empty, when a bot pattern (crawler list or supplement) matches text that no
/// allow-list entry's match contains, or — when browser markers are configured — when no
/// browser marker matches.
///
/// How: every pattern is analysed once (``RegexLiterals``). The literals of all patterns go into
/// one ``LiteralAutomaton`` scanned once per user agent. A pattern that *is* its literals (most
/// of the crawler list and supplement) is decided by the scan alone, anchors and case checked
/// on the bytes; a pattern with wildcards runs its compiled `NSRegularExpression` only when the
/// scan has seen one of its required literals; the few patterns without a usable literal are
/// always verified. The allow-list is consulted (with regexes, for match spans) only when one
/// of its literals was seen *and* a bot pattern matched.
///
/// ``explain(_:)`` is the reference: it runs every regex, in order, and the tests assert that
/// ``isBot(_:)`` agrees with it on every fixture.
///
/// Thread safety: immutable after `init`; `isBot` and `explain` may run on any thread.
/// Costs: `isBot` allocates nothing unless a regex has to run (then one `String` of the user
/// agent); memory is the automaton (a few MB for the shipped lists) and the compiled regexes.
public final class BotUserAgentMatcher: @unchecked Sendable {
    public let patternSet: BotPatternSet
    public let maxUserAgentBytes: Int

    /// Bots, then allow entries, then markers: one index space for the tables below.
    private let all: [BotPattern]
    private let regexes: [NSRegularExpression]
    private let botEnd: Int32
    private let allowEnd: Int32
    private let automaton: LiteralAutomaton
    /// Entries of literal `id`: `entries[entryStart[id] ..< entryStart[id + 1]]`.
    private let entryStart: [Int32]
    private let entries: [Entry]
    /// Case-sensitive spellings of exact literals, by `Entry.variant`.
    private let variants: [[UInt8]]
    /// Patterns decided by the automaton alone (no regex).
    private let isExact: [Bool]
    private let alwaysBots: [Int32]
    private let alwaysAllow: [Int32]
    private let alwaysMarkers: [Int32]
    /// The reference: patterns of one kind and case mode, up to 32 as one alternation.
    private let referenceChunks: [ReferenceChunk]

    private struct ReferenceChunk {
        var regex: NSRegularExpression
        var members: [Int32]
    }

    /// What the prefilter made of the patterns, for `bot-check --stats` and the benchmarks.
    public struct Statistics: Sendable, Equatable {
        public var patterns: Int
        /// Decided by the automaton alone.
        public var exact: Int
        /// Verified by a regex when a required literal is seen.
        public var verifiedOnLiteral: Int
        /// Verified by a regex on every user agent that needs them.
        public var alwaysVerified: Int
        public var literals: Int
        public var automatonStates: Int
    }

    public let statistics: Statistics

    private struct Entry {
        var pattern: Int32
        /// Index into `variants` for a case-sensitive exact literal, else -1.
        var variant: Int32
        var flags: UInt8
        static let exact: UInt8 = 1, anchoredStart: UInt8 = 2, anchoredEnd: UInt8 = 4
    }

    /// Candidates remembered per scan before falling back to running every regex.
    private static let maxCandidates = 64

    public convenience init(_ set: BotPatternSet, maxUserAgentBytes: Int = 512) throws(BotPatternError) {
        try self.init(patterns: set.patterns, allow: set.allow, browserMarkers: set.browserMarkers,
                      maxUserAgentBytes: maxUserAgentBytes)
    }

    /// Compiles and analyses every pattern. Throws for a regex that ICU rejects or that can
    /// match the empty string (it would match every user agent).
    public init(patterns: [BotPattern], allow: [BotPattern], browserMarkers: [BotPattern] = [],
                maxUserAgentBytes: Int = 512) throws(BotPatternError) {
        guard maxUserAgentBytes >= 1 else { throw .invalidMaxUserAgentBytes(maxUserAgentBytes) }
        self.patternSet = BotPatternSet(patterns: patterns, allow: allow, browserMarkers: browserMarkers)
        self.maxUserAgentBytes = maxUserAgentBytes
        let all = patterns + allow + browserMarkers
        self.all = all
        botEnd = Int32(patterns.count)
        allowEnd = Int32(patterns.count + allow.count)

        var regexes: [NSRegularExpression] = []
        regexes.reserveCapacity(all.count)
        for (k, p) in all.enumerated() {
            let index = k < patterns.count ? k : (k < Int(allowEnd) ? k - patterns.count : k - Int(allowEnd))
            regexes.append(try Self.compile(p, index: index))
        }
        self.regexes = regexes

        var literalIDs: [[UInt8]: Int32] = [:]
        var literals: [[UInt8]] = []
        var perLiteral: [[Entry]] = []
        var variants: [[UInt8]] = []
        var isExact = [Bool](repeating: false, count: all.count)
        var always: [Int32] = []
        var exactCount = 0, verifiedCount = 0
        func literalID(_ lit: [UInt8]) -> Int32 {
            let key = lit.map(asciiLower)
            if let id = literalIDs[key] { return id }
            let id = Int32(literals.count)
            literalIDs[key] = id
            literals.append(key)
            perLiteral.append([])
            return id
        }
        for (k, p) in all.enumerated() {
            let info = RegexLiterals(pattern: p.regex, caseInsensitive: p.caseInsensitive)
            if let exact = info.exact {
                isExact[k] = true
                exactCount += 1
                var flags = Entry.exact
                if info.anchoredStart { flags |= Entry.anchoredStart }
                if info.anchoredEnd { flags |= Entry.anchoredEnd }
                for lit in exact {
                    var variant: Int32 = -1
                    if !p.caseInsensitive {
                        variant = Int32(variants.count)
                        variants.append(lit)
                    }
                    let id = literalID(lit)
                    perLiteral[Int(id)].append(Entry(pattern: Int32(k), variant: variant, flags: flags))
                }
            } else if !info.required.isEmpty {
                verifiedCount += 1
                for lit in info.required {
                    let id = literalID(lit)
                    if !perLiteral[Int(id)].contains(where: { $0.pattern == Int32(k) }) {
                        perLiteral[Int(id)].append(Entry(pattern: Int32(k), variant: -1, flags: 0))
                    }
                }
            } else {
                always.append(Int32(k))
            }
        }
        automaton = LiteralAutomaton(literals: literals)
        var entryStart: [Int32] = [0]
        var entries: [Entry] = []
        for list in perLiteral {
            entries.append(contentsOf: list)
            entryStart.append(Int32(entries.count))
        }
        self.entryStart = entryStart
        self.entries = entries
        self.variants = variants
        self.isExact = isExact
        let botEnd = self.botEnd, allowEnd = self.allowEnd
        alwaysBots = always.filter { $0 < botEnd }
        alwaysAllow = always.filter { $0 >= botEnd && $0 < allowEnd }
        alwaysMarkers = always.filter { $0 >= allowEnd }
        var chunks: [ReferenceChunk] = []
        var k = 0
        while k < all.count {
            var members = [Int32(k)]
            let kind = k < patterns.count ? 0 : (k < Int(allowEnd) ? 1 : 2)
            func kindOf(_ j: Int) -> Int { j < patterns.count ? 0 : (j < Int(allowEnd) ? 1 : 2) }
            // Numbered back-references would change meaning inside a combined pattern.
            func combinable(_ r: String) -> Bool { r.range(of: #"\\[1-9k]"#, options: .regularExpression) == nil }
            if combinable(all[k].regex) {
                while members.count < 32, k + members.count < all.count {
                    let j = k + members.count
                    guard kindOf(j) == kind, all[j].caseInsensitive == all[k].caseInsensitive, combinable(all[j].regex) else { break }
                    members.append(Int32(j))
                }
            }
            let text = members.map { "(?:" + all[Int($0)].regex + ")" }.joined(separator: "|")
            let combined = try? NSRegularExpression(pattern: text, options: all[k].caseInsensitive ? [.caseInsensitive] : [])
            if let combined {
                chunks.append(ReferenceChunk(regex: combined, members: members))
            } else {
                for m in members { chunks.append(ReferenceChunk(regex: regexes[Int(m)], members: [m])) }
            }
            k += members.count
        }
        referenceChunks = chunks
        statistics = Statistics(patterns: all.count, exact: exactCount, verifiedOnLiteral: verifiedCount,
                                alwaysVerified: always.count, literals: literals.count,
                                automatonStates: automaton.stateCount)
    }

    /// Compiles one pattern as the matcher does; `index` only labels the error.
    /// Throws for a regex that ICU rejects or that matches the empty string.
    public static func compile(_ p: BotPattern, index: Int = 0) throws(BotPatternError) -> NSRegularExpression {
        let re: NSRegularExpression
        do {
            re = try NSRegularExpression(pattern: p.regex, options: p.caseInsensitive ? [.caseInsensitive] : [])
        } catch {
            throw .invalidRegex(p, index: index, reason: "\(error.localizedDescription)")
        }
        // A pattern that matches the empty string somewhere matches every user agent.
        if let m = re.firstMatch(in: "\u{1}", range: NSRange(location: 0, length: 1)), m.range.length == 0 {
            throw .matchesEmptyString(p, index: index)
        }
        return re
    }

    /// The patterns that are verified on every user agent (no usable literal), for review.
    public var alwaysVerifiedPatterns: [BotPattern] {
        (alwaysBots + alwaysAllow + alwaysMarkers).map { all[Int($0)] }
    }

    // MARK: - Verdict

    /// Whether `userAgent` (raw bytes, any length) is a bot. Uncached; truncates first; an
    /// empty user agent is a bot.
    public func isBot(_ userAgent: UnsafeRawBufferPointer) -> Bool {
        let n = min(userAgent.count, maxUserAgentBytes)
        if n == 0 { return true }
        let text = UnsafeRawBufferPointer(rebasing: userAgent[0..<n])
        return withUnsafeTemporaryAllocation(of: Int32.self, capacity: Self.maxCandidates) { cand in
            decide(text, cand)
        }
    }

    /// Convenience for tests and tools.
    public func isBot(_ userAgent: String) -> Bool {
        var s = userAgent
        return s.withUTF8 { isBot(UnsafeRawBufferPointer($0)) }
    }

    private func decide(_ text: UnsafeRawBufferPointer, _ cand: UnsafeMutableBufferPointer<Int32>) -> Bool {
        var count = 0
        var overflow = false
        var exactBot = false
        var allowSeen = false
        var markerSeen = false
        let botEnd = self.botEnd, allowEnd = self.allowEnd
        entries.withUnsafeBufferPointer { entries in
            entryStart.withUnsafeBufferPointer { starts in
                automaton.scan(text) { lit, end in
                    let lo = Int(starts[Int(lit)]), hi = Int(starts[Int(lit) + 1])
                    for j in lo..<hi {
                        let e = entries[j]
                        let p = e.pattern
                        if p >= allowEnd { // a browser marker
                            if markerSeen { continue }
                            if e.flags & Entry.exact != 0 {
                                if exactHolds(e, text: text, end: end, length: Int(automaton.literalLengths[Int(lit)])) {
                                    markerSeen = true
                                }
                                continue
                            }
                        } else if p >= botEnd { // an allow entry: its spans are needed only if a bot matches
                            allowSeen = true
                        } else if e.flags & Entry.exact != 0 {
                            // An exact bot pattern: this occurrence decides, no regex.
                            guard exactHolds(e, text: text, end: end, length: Int(automaton.literalLengths[Int(lit)])) else { continue }
                            exactBot = true
                        }
                        // Remember the pattern once.
                        var known = false
                        for c in 0..<count where cand[c] == p {
                            known = true
                            break
                        }
                        if !known {
                            if count < cand.count {
                                cand[count] = p
                                count += 1
                            } else {
                                overflow = true
                            }
                        }
                    }
                    return true
                }
            }
        }
        if overflow { return explain(text).isBot }

        var string: String? = nil
        func str() -> String {
            if let string { return string }
            let s = String(decoding: text, as: UTF8.self)
            string = s
            return s
        }

        let needSpans = allowSeen || !alwaysAllow.isEmpty
        if !needSpans {
            if exactBot { return true }
            for c in 0..<count {
                let p = cand[c]
                if p < botEnd, !isExact[Int(p)], matches(p, str()) { return true }
            }
            for p in alwaysBots where matches(p, str()) { return true }
        } else {
            var anyBot = exactBot || !alwaysBots.isEmpty
            if !anyBot {
                for c in 0..<count where cand[c] < botEnd && !isExact[Int(cand[c])] {
                    anyBot = true
                    break
                }
            }
            if anyBot {
                let s = str()
                var spans: [NSRange] = []
                for c in 0..<count where cand[c] >= botEnd && cand[c] < allowEnd {
                    spans += allMatches(cand[c], s)
                }
                for p in alwaysAllow { spans += allMatches(p, s) }
                for c in 0..<count where cand[c] < botEnd {
                    if firstUncovered(cand[c], s, spans) != nil { return true }
                }
                for p in alwaysBots where firstUncovered(p, s, spans) != nil { return true }
            }
        }

        if Int(allowEnd) == all.count || markerSeen { return false }
        for c in 0..<count where cand[c] >= allowEnd && !isExact[Int(cand[c])] {
            if matches(cand[c], str()) { return false }
        }
        for p in alwaysMarkers where matches(p, str()) { return false }
        return true
    }

    @inline(__always)
    private func exactHolds(_ e: Entry, text: UnsafeRawBufferPointer, end: Int, length: Int) -> Bool {
        let start = end - length
        if e.flags & Entry.anchoredStart != 0, start != 0 { return false }
        if e.flags & Entry.anchoredEnd != 0, end != text.count { return false }
        if e.variant >= 0 {
            return variants[Int(e.variant)].withUnsafeBytes { v in
                memcmp(v.baseAddress!, text.baseAddress! + start, length) == 0
            }
        }
        return true
    }

    private func matches(_ p: Int32, _ s: String) -> Bool {
        regexes[Int(p)].firstMatch(in: s, range: NSRange(location: 0, length: s.utf16.count)) != nil
    }

    private func allMatches(_ p: Int32, _ s: String) -> [NSRange] {
        regexes[Int(p)].matches(in: s, range: NSRange(location: 0, length: s.utf16.count)).map(\.range)
    }

    /// The first match of bot pattern `p` not inside any of `spans`, or nil.
    private func firstUncovered(_ p: Int32, _ s: String, _ spans: [NSRange]) -> NSRange? {
        for r in allMatches(p, s) where !spans.contains(where: { $0.location <= r.location && NSMaxRange(r) <= NSMaxRange($0) }) {
            return r
        }
        return nil
    }

    // MARK: - Reference

    /// The verdict by regexes alone, without the literal prefilter: the patterns are run as
    /// alternations of up to 32; a bot chunk that matches while an allow entry matches too is
    /// re-run pattern by pattern for the match spans. Tests assert ``isBot(_:)`` equals this on
    /// every fixture; the benchmarks use it as the baseline.
    public func referenceIsBot(_ userAgent: String) -> Bool {
        var u = userAgent
        return u.withUTF8 { buf in
            let n = min(buf.count, maxUserAgentBytes)
            if n == 0 { return true }
            let s = String(decoding: UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buf)[0..<n]), as: UTF8.self)
            let range = NSRange(location: 0, length: s.utf16.count)
            func hit(_ c: ReferenceChunk) -> Bool { c.regex.firstMatch(in: s, range: range) != nil }
            let bots = referenceChunks.filter { $0.members[0] < botEnd && hit($0) }
            if !bots.isEmpty {
                let allowChunks = referenceChunks.filter { $0.members[0] >= botEnd && $0.members[0] < allowEnd }
                if !allowChunks.contains(where: hit) { return true }
                var spans: [NSRange] = []
                for c in allowChunks { for p in c.members { spans += allMatches(p, s) } }
                for c in bots { for p in c.members where firstUncovered(p, s, spans) != nil { return true } }
            }
            let markers = referenceChunks.filter { $0.members[0] >= allowEnd }
            return !markers.isEmpty && !markers.contains(where: hit)
        }
    }

    /// The verdict with its reason, computed the slow and obvious way: every regex in order.
    public func explain(_ userAgent: String) -> BotVerdictExplanation {
        var s = userAgent
        return s.withUTF8 { explain(UnsafeRawBufferPointer($0)) }
    }

    /// ``explain(_:)`` for raw bytes (truncated first, like ``isBot(_:)``).
    public func explain(_ userAgent: UnsafeRawBufferPointer) -> BotVerdictExplanation {
        let n = min(userAgent.count, maxUserAgentBytes)
        if n == 0 { return BotVerdictExplanation(isBot: true, reason: .emptyUserAgent) }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: userAgent[0..<n]), as: UTF8.self)
        var spans: [NSRange] = []
        var spanOwner: [Int32] = []
        for p in botEnd..<allowEnd {
            for r in allMatches(p, s) {
                spans.append(r)
                spanOwner.append(p)
            }
        }
        var saved: BotVerdictExplanation? = nil
        let ns = s as NSString
        for p in 0..<botEnd {
            for r in allMatches(p, s) {
                let text = ns.substring(with: r)
                guard let k = spans.firstIndex(where: { $0.location <= r.location && NSMaxRange(r) <= NSMaxRange($0) }) else {
                    return BotVerdictExplanation(isBot: true, reason: .matched, pattern: all[Int(p)], matchedText: text)
                }
                if saved == nil {
                    saved = BotVerdictExplanation(isBot: false, reason: .human, pattern: all[Int(p)], matchedText: text,
                                                  allowedBy: all[Int(spanOwner[k])])
                }
            }
        }
        if Int(allowEnd) < all.count, !(allowEnd..<Int32(all.count)).contains(where: { matches($0, s) }) {
            return BotVerdictExplanation(isBot: true, reason: .noBrowserMarker)
        }
        return saved ?? BotVerdictExplanation(isBot: false, reason: .human)
    }
}
