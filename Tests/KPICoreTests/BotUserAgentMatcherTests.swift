import XCTest
@testable import KPICore

private func list(_ r: String) -> BotPattern { BotPattern(regex: r, origin: .crawlerList) }
private func supp(_ r: String) -> BotPattern { BotPattern(regex: r, origin: .supplement) }
private func allow(_ r: String) -> BotPattern { BotPattern(regex: r, origin: .allow) }
private func marker(_ r: String) -> BotPattern { BotPattern(regex: r, origin: .browserMarker) }

private let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"
private let butterfly = "Mozilla/5.0 (Linux; Android 4.2.2; HTC Butterfly Build/JDQ39) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/30.0.1599.92 Mobile Safari/537.36"

/// The verdict rules, on small hand-made pattern sets; `explain` (every regex) must agree.
final class BotUserAgentMatcherTests: XCTestCase {
    private func matcher(_ patterns: [BotPattern], allow a: [BotPattern] = [], markers: [BotPattern] = [], max: Int = 512) throws -> BotUserAgentMatcher {
        try BotUserAgentMatcher(patterns: patterns, allow: a, browserMarkers: markers, maxUserAgentBytes: max)
    }

    private func verdict(_ m: BotUserAgentMatcher, _ ua: String, file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let fast = m.isBot(ua)
        XCTAssertEqual(fast, m.explain(ua).isBot, "prefilter and explain disagree on \(ua)", file: file, line: line)
        XCTAssertEqual(fast, m.referenceIsBot(ua), "prefilter and reference disagree on \(ua)", file: file, line: line)
        return fast
    }

    func testEmptyUserAgentIsABot() throws {
        let m = try matcher([list("Googlebot")])
        XCTAssertTrue(verdict(m, ""))
        XCTAssertEqual(m.explain("").reason, .emptyUserAgent)
        XCTAssertTrue(m.isBot(UnsafeRawBufferPointer(start: nil, count: 0)))
    }

    func testCrawlerListIsCaseSensitiveAndSupplementIsNot() throws {
        let m = try matcher([list("Sonic"), supp("crawler")])
        XCTAssertFalse(verdict(m, "Mozilla/5.0 (Linux; Android 4.3; Panasonic ELUGA A Build/JWR66V)"))
        XCTAssertTrue(verdict(m, "SonicWall Scanner"))
        XCTAssertTrue(verdict(m, "Some CRAWLER/1.0"))
    }

    func testExactPatternAnchoredAtStartMatchesOnlyThere() throws {
        let m = try matcher([list("^curl")])
        XCTAssertTrue(verdict(m, "curl/8.5.0"))
        XCTAssertFalse(verdict(m, "libcurl-agent/1.0"))
    }

    func testExactPatternAnchoredAtEndMatchesOnlyThere() throws {
        let m = try matcher([supp("wrapper$")])
        XCTAssertTrue(verdict(m, "my WRAPPER"))
        XCTAssertFalse(verdict(m, "wrapper/1.0"))
    }

    func testCaseSensitiveClassMatchesEachSpellingOnly() throws {
        let m = try matcher([list("[wW]get")])
        XCTAssertTrue(verdict(m, "Wget/1.21.4"))
        XCTAssertTrue(verdict(m, "wget/1.21.4"))
        XCTAssertFalse(verdict(m, "WGET/1.21.4"))
    }

    func testRegexPatternRunsOnlyToConfirmItsLiteral() throws {
        let m = try matcher([list(#"BlogTraffic\/\d\.\d+ Feed-Fetcher"#)])
        XCTAssertTrue(verdict(m, "BlogTraffic/1.4 Feed-Fetcher"))
        XCTAssertFalse(verdict(m, "BlogTraffic/x Feed-Fetcher"))
    }

    func testAllowEntryCoveringTheMatchSavesTheUserAgent() throws {
        let m = try matcher([list("Butterfly")], allow: [allow("; HTC Butterfly[^;)]*")])
        XCTAssertFalse(verdict(m, butterfly))
        let e = m.explain(butterfly)
        XCTAssertEqual(e.reason, .human)
        XCTAssertEqual(e.pattern, list("Butterfly"))
        XCTAssertEqual(e.allowedBy, allow("; HTC Butterfly[^;)]*"))
        XCTAssertEqual(e.matchedText, "Butterfly")
    }

    func testAllowEntryDoesNotHideABotMatchOutsideIt() throws {
        let m = try matcher([list("Butterfly"), list(#"Googlebot\/"#)], allow: [allow("; HTC Butterfly[^;)]*")])
        let ua = butterfly + " (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        XCTAssertTrue(verdict(m, ua))
        XCTAssertEqual(m.explain(ua).pattern, list(#"Googlebot\/"#))
    }

    func testAllowEntryCoversOnlyMatchesEntirelyInsideIt() throws {
        // "Butterfly Crawler" sticks out of the allowed model name.
        let m = try matcher([supp("butterfly crawler")], allow: [allow("HTC Butterfly")])
        XCTAssertTrue(verdict(m, "HTC Butterfly Crawler/1.0"))
    }

    func testUserAgentWithoutABrowserMarkerIsABot() throws {
        let m = try matcher([list("Googlebot")], markers: [marker("mozilla/"), marker("dalvik/"), marker(#"\bopera\b"#)])
        XCTAssertTrue(verdict(m, "ScoutURLMonitor/5.9.8"))
        XCTAssertEqual(m.explain("ScoutURLMonitor/5.9.8").reason, .noBrowserMarker)
        XCTAssertFalse(verdict(m, firefox))
        XCTAssertFalse(verdict(m, "Dalvik/2.1.0 (Linux; U; Android 9; SM-G965U Build/PPR1.180610.011)"))
        XCTAssertFalse(verdict(m, "Opera/9.80 (Android; Opera Mini/7.6.40234/191.303; U; en) Presto/2.12.423 Version/12.16"))
        XCTAssertTrue(verdict(m, "Operator/1.0"))
    }

    func testWithoutMarkersAnUnknownUserAgentIsHuman() throws {
        let m = try matcher([list("Googlebot")])
        XCTAssertFalse(verdict(m, "ScoutURLMonitor/5.9.8"))
    }

    func testHugeUserAgentIsTruncatedBeforeMatching() throws {
        let m = try matcher([supp("googlebot")], max: 512)
        let head = firefox + String(repeating: " padding", count: 60) // > 512 bytes
        let huge = head + String(repeating: "x", count: 4 << 20) + " Googlebot/2.1"
        XCTAssertFalse(verdict(m, huge), "a bot token past the limit is not seen")
        let early = "Googlebot/2.1 " + String(repeating: "x", count: 4 << 20)
        XCTAssertTrue(verdict(m, early))
        // A token cut by the limit does not match either.
        let cut = String(repeating: "a", count: 508) + "googlebot"
        XCTAssertFalse(verdict(m, cut))
    }

    func testManyCandidatesInOneUserAgentFallBackToTheReference() throws {
        // More candidate patterns than the scan remembers: the verdict must not change.
        let patterns = (0..<100).map { supp("t\($0)x\\d") }
        let m = try matcher(patterns)
        let allSeen = (0..<100).map { "t\($0)x" }.joined(separator: " ")
        XCTAssertLessThan(allSeen.utf8.count, 500)
        XCTAssertFalse(verdict(m, allSeen))
        XCTAssertTrue(verdict(m, "t99x7 " + allSeen))
    }

    func testInvalidRegexIsATypedErrorNamingThePattern() {
        XCTAssertThrowsError(try matcher([list("ok"), supp("bad(")])) { error in
            guard case let .invalidRegex(p, index, _)? = error as? BotPatternError else { return XCTFail("\(error)") }
            XCTAssertEqual(p, supp("bad("))
            XCTAssertEqual(index, 1)
        }
    }

    func testPatternMatchingTheEmptyStringIsRejected() {
        XCTAssertThrowsError(try matcher([supp("x*")])) { error in
            XCTAssertEqual(error as? BotPatternError, .matchesEmptyString(supp("x*"), index: 0))
        }
    }

    func testExplanationLineNamesOriginPatternAndText() throws {
        let m = try matcher([list(#"Googlebot\/"#)])
        XCTAssertEqual(m.explain("Googlebot/2.1").description, "bot\tcrawler-list\tGooglebot\\/\t\"Googlebot/\"")
        XCTAssertEqual(m.explain(firefox).description, "human")
    }
}

/// The verdict cache: same answers as the matcher, bounded, counted.
final class BotVerdictCacheTests: XCTestCase {
    private func withBytes<T>(_ s: String, _ body: (UnsafeRawBufferPointer) -> T) -> T {
        var s = s
        return s.withUTF8 { body(UnsafeRawBufferPointer($0)) }
    }

    func testSecondLookupIsAHitWithTheSameVerdict() throws {
        let m = try BotUserAgentMatcher(patterns: [supp("bot")], allow: [])
        let cache = BotVerdictCache(matcher: m, capacity: 64)
        XCTAssertTrue(withBytes("SomeBot/1.0") { cache.isBot($0) })
        XCTAssertTrue(withBytes("SomeBot/1.0") { cache.isBot($0) })
        XCTAssertFalse(withBytes(firefox) { cache.isBot($0) })
        XCTAssertFalse(withBytes(firefox) { cache.isBot($0) })
        XCTAssertEqual(cache.hits, 2)
        XCTAssertEqual(cache.misses, 2)
    }

    func testEmptyUserAgentIsABotWithoutTouchingTheCache() throws {
        let cache = BotVerdictCache(matcher: try BotUserAgentMatcher(patterns: [supp("bot")], allow: []))
        XCTAssertTrue(withBytes("") { cache.isBot($0) })
        XCTAssertEqual(cache.hits + cache.misses, 0)
    }

    func testManyDistinctAgentsStayCorrectInABoundedCache() throws {
        let m = try BotUserAgentMatcher(patterns: [supp("bot")], allow: [])
        let cache = BotVerdictCache(matcher: m, capacity: 16)
        XCTAssertEqual(cache.capacity, 16)
        for round in 0..<2 {
            for i in 0..<1000 {
                let ua = i % 3 == 0 ? "Crawler\(i)Bot" : "Mozilla/5.0 browser \(i)"
                XCTAssertEqual(withBytes(ua) { cache.isBot($0) }, i % 3 == 0, "round \(round) ua \(ua)")
            }
        }
        XCTAssertEqual(cache.hits + cache.misses, 2000)
        XCTAssertGreaterThan(cache.misses, 1900, "16 slots cannot hold 1000 agents")
    }

    func testCacheKeysOfNearlyEqualAgentsDiffer() {
        // Agents that differ in one byte, at every position and length up to 300 bytes.
        var keys = Set<UInt64>()
        var count = 0
        let base = Array(String(repeating: firefox, count: 5).utf8)
        for length in stride(from: 1, through: 300, by: 7) {
            for position in 0..<length {
                for delta: UInt8 in [1, 0x20] {
                    var b = Array(base.prefix(length))
                    b[position] ^= delta
                    b.withUnsafeBytes { _ = keys.insert(BotVerdictCache.key($0)) }
                    count += 1
                }
            }
            base.prefix(length).withUnsafeBytes { _ = keys.insert(BotVerdictCache.key($0)) }
            count += 1
        }
        XCTAssertEqual(keys.count, count)
    }

    func testCacheKeysDifferAtEveryShortLengthAndPosition() {
        // Every length up to 40 (the short-agent and overlapping-load cases), one byte changed
        // at every position by several deltas, and 100,000 generated agents of 1–300 bytes.
        var keys = Set<UInt64>()
        var count = 0
        let base = Array(firefox.utf8)
        for length in 1...40 {
            base.prefix(length).withUnsafeBytes { _ = keys.insert(BotVerdictCache.key($0)) }
            count += 1
            for position in 0..<length {
                for delta: UInt8 in [1, 2, 0x20, 0x80] {
                    var b = Array(base.prefix(length))
                    b[position] ^= delta
                    b.withUnsafeBytes { _ = keys.insert(BotVerdictCache.key($0)) }
                    count += 1
                }
            }
        }
        XCTAssertEqual(keys.count, count)
        var rng = SplitMix64(seed: 41)
        var generated = Set<[UInt8]>()
        while generated.count < 100_000 {
            generated.insert((0..<(1 + Int(rng.next() % 300))).map { _ in UInt8(0x20 + rng.next() % 95) })
        }
        var generatedKeys = Set<UInt64>()
        for g in generated { g.withUnsafeBytes { _ = generatedKeys.insert(BotVerdictCache.key($0)) } }
        XCTAssertEqual(generatedKeys.count, generated.count)
    }

    func testAgentsEqualInTheirFirstBytesShareAVerdict() throws {
        let m = try BotUserAgentMatcher(patterns: [supp("bot")], allow: [], maxUserAgentBytes: 16)
        let cache = BotVerdictCache(matcher: m)
        XCTAssertFalse(withBytes("Mozilla/5.0 (X11; whatever") { cache.isBot($0) })
        XCTAssertFalse(withBytes("Mozilla/5.0 (X11; but a bot later") { cache.isBot($0) })
        XCTAssertEqual(cache.hits, 1)
    }
}
