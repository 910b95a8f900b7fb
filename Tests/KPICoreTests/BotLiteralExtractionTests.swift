import XCTest
@testable import KPICore

/// What the prefilter reads off a pattern: exact strings (no regex needed), a required literal
/// (regex only when it is seen), or nothing (always verified).
final class BotLiteralExtractionTests: XCTestCase {
    private func bytes(_ s: [String]) -> [[UInt8]] { s.map { Array($0.utf8) } }

    func testPlainEscapedWordIsExactAndKeepsItsCase() {
        let r = RegexLiterals(pattern: #"Googlebot\/"#, caseInsensitive: false)
        XCTAssertEqual(r.exact, bytes(["Googlebot/"]))
        XCTAssertEqual(r.required, bytes(["googlebot/"]))
        XCTAssertFalse(r.anchoredStart)
    }

    func testCharacterClassExpandsToEachSpellingWhenCaseSensitive() {
        let r = RegexLiterals(pattern: "[wW]get", caseInsensitive: false)
        XCTAssertEqual(r.exact, bytes(["Wget", "wget"]))
        XCTAssertEqual(r.required, bytes(["wget"]))
    }

    func testCharacterClassFoldsToOneSpellingWhenCaseInsensitive() {
        XCTAssertEqual(RegexLiterals(pattern: "[wW]get", caseInsensitive: true).exact, bytes(["wget"]))
    }

    func testGroupAlternationExpandsToEveryString() {
        let r = RegexLiterals(pattern: "Ahrefs(Bot|SiteAudit)", caseInsensitive: false)
        XCTAssertEqual(r.exact, bytes(["AhrefsBot", "AhrefsSiteAudit"]))
    }

    func testOptionalPartExpandsToBothStrings() {
        XCTAssertEqual(RegexLiterals(pattern: "scrap(e|er)?y", caseInsensitive: true).exact,
                       bytes(["scrapery", "scrapey", "scrapy"]))
    }

    func testLeadingCaretAndTrailingDollarAreAnchors() {
        let r = RegexLiterals(pattern: "^curl$", caseInsensitive: false)
        XCTAssertEqual(r.exact, bytes(["curl"]))
        XCTAssertTrue(r.anchoredStart)
        XCTAssertTrue(r.anchoredEnd)
    }

    func testEscapedTrailingDollarIsALiteral() {
        let r = RegexLiterals(pattern: #"price\$"#, caseInsensitive: false)
        XCTAssertEqual(r.exact, bytes(["price$"]))
        XCTAssertFalse(r.anchoredEnd)
    }

    func testCaretOfOneTopLevelBranchIsNotAnAnchorOfAll() {
        let r = RegexLiterals(pattern: "^foo|bar", caseInsensitive: false)
        XCTAssertNil(r.exact)
        XCTAssertEqual(r.required, bytes(["bar", "foo"]))
    }

    func testWildcardsKeepTheLongestLiteralRun() {
        let r = RegexLiterals(pattern: #"BlogTraffic\/\d\.\d+ Feed-Fetcher"#, caseInsensitive: false)
        XCTAssertNil(r.exact)
        XCTAssertEqual(r.required, bytes([" feed-fetcher"]))
    }

    func testAnchorInsideAGroupNeedsVerificationButKeepsItsLiterals() {
        let r = RegexLiterals(pattern: #"(^| )sentry\/"#, caseInsensitive: false)
        XCTAssertNil(r.exact)
        XCTAssertEqual(r.required, bytes([" sentry/", "sentry/"]))
    }

    func testWordBoundaryNeedsVerification() {
        let r = RegexLiterals(pattern: #"\bcurl/"#, caseInsensitive: true)
        XCTAssertNil(r.exact)
        XCTAssertEqual(r.required, bytes(["curl/"]))
    }

    func testLookbehindContributesNoLiteral() {
        let r = RegexLiterals(pattern: #"(?<!user-)agent\b"#, caseInsensitive: true)
        XCTAssertNil(r.exact)
        XCTAssertEqual(r.required, bytes(["agent"]))
    }

    func testOneOrMoreKeepsTheRepeatedLiteral() {
        XCTAssertEqual(RegexLiterals(pattern: "(ab)+x*", caseInsensitive: false).required, bytes(["ab"]))
    }

    func testPatternThatCanMatchWithoutLiteralsHasNoRequirement() {
        let r = RegexLiterals(pattern: "^-?$", caseInsensitive: false)
        XCTAssertNil(r.exact)
        XCTAssertEqual(r.required, [])
    }

    func testAlternationWithAWildcardBranchHasNoRequirement() {
        XCTAssertEqual(RegexLiterals(pattern: #"crawler|\d+"#, caseInsensitive: false).required, [])
    }

    func testUnknownSyntaxGivesUpOnTheWholePattern() {
        for p in [#"\p{L}bot"#, #"(?i)bot"#, #"(a)\1bot"#, "[[:alpha:]]bot"] {
            let r = RegexLiterals(pattern: p, caseInsensitive: false)
            XCTAssertNil(r.exact, p)
            XCTAssertEqual(r.required, [], p)
        }
    }

    func testLargeClassIsOneUnknownByte() {
        let r = RegexLiterals(pattern: "bot[a-z]crawl", caseInsensitive: false)
        XCTAssertNil(r.exact)
        XCTAssertEqual(r.required, bytes(["crawl"]))
    }

    func testNonASCIICaseInsensitiveLiteralIsLeftToTheRegex() {
        // ICU folds non-ASCII case; the byte automaton does not, so it must not decide.
        let r = RegexLiterals(pattern: "Ärger", caseInsensitive: true)
        XCTAssertNil(r.exact)
        XCTAssertEqual(r.required, [])
    }
}

/// The combined automaton reports every occurrence of every literal, case-folded.
final class BotLiteralAutomatonTests: XCTestCase {
    private func hits(_ literals: [String], _ text: String) -> [String] {
        let a = LiteralAutomaton(literals: literals.map { Array($0.utf8) })
        var out: [String] = []
        var t = text
        t.withUTF8 { buf in
            a.scan(UnsafeRawBufferPointer(buf)) { id, end in
                out.append("\(literals[Int(id)])@\(end)")
                return true
            }
        }
        return out.sorted()
    }

    func testFindsOverlappingAndNestedLiterals() {
        XCTAssertEqual(hits(["he", "she", "his", "hers"], "ushers"), ["he@4", "hers@6", "she@4"])
    }

    func testMatchesIgnoringASCIICase() {
        XCTAssertEqual(hits(["googlebot/"], "Mozilla (compatible; GoogleBot/2.1)"), ["googlebot/@31"])
    }

    func testAgreesWithANaiveSearchOnRandomText() {
        var rng = SystemRandomNumberGenerator()
        let alphabet = Array("abAB/ ")
        func word(_ n: Int) -> String { String((0..<n).map { _ in alphabet.randomElement(using: &rng)! }) }
        for _ in 0..<50 {
            let literals = Array(Set((0..<8).map { _ in word(Int.random(in: 1...4, using: &rng)) }))
            let text = word(60)
            var expected: [String] = []
            let t = Array(text.lowercased().utf8)
            for lit in literals {
                let l = Array(lit.lowercased().utf8)
                if l.count <= t.count {
                    for end in l.count...t.count where Array(t[(end - l.count)..<end]) == l {
                        expected.append("\(lit)@\(end)")
                    }
                }
            }
            XCTAssertEqual(hits(literals, text), expected.sorted(), "\(literals) in \(text)")
        }
    }
}
