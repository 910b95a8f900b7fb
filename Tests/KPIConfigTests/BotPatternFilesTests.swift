import Foundation
import KPIConfig
import KPICore
import XCTest

/// The repository root, from this file's path.
let repositoryRoot: URL = {
    var u = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { u.deleteLastPathComponent() }
    return u
}()

let shippedBotPatterns = repositoryRoot.appendingPathComponent("conf/bots").path

/// Loading conf/bots: formats, and errors that name file, line and pattern.
final class BotPatternFilesTests: XCTestCase {
    private var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpid-bots-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try write(BotPatternFiles.crawlerListFile, #"[{"pattern": "Googlebot\\/", "url": "x"}, {"pattern": "[wW]get"}]"#)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func write(_ name: String, _ text: String) throws {
        try text.write(to: dir.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    func testShippedPatternsLoadAndCompile() throws {
        let set = try BotPatternFiles.load(directory: shippedBotPatterns)
        XCTAssertGreaterThan(set.patterns.filter { $0.origin == .crawlerList }.count, 1000)
        XCTAssertGreaterThan(set.patterns.filter { $0.origin == .supplement }.count, 100)
        XCTAssertFalse(set.allow.isEmpty)
        XCTAssertFalse(set.browserMarkers.isEmpty)
        let m = try BotUserAgentMatcher(set)
        XCTAssertTrue(m.alwaysVerifiedPatterns.count <= 5, "\(m.alwaysVerifiedPatterns)")
    }

    func testSupplementSkipsCommentsAndBlankLinesAndTrimsSpaces() throws {
        try write(BotPatternFiles.supplementFile, "# a comment\n\n  curl  \r\n   # indented comment\npython-requests\n")
        let set = try BotPatternFiles.load(directory: dir.path)
        XCTAssertEqual(set.patterns.map(\.regex), [#"Googlebot\/"#, "[wW]get", "curl", "python-requests"])
        XCTAssertEqual(set.patterns.map(\.origin), [.crawlerList, .crawlerList, .supplement, .supplement])
        XCTAssertEqual(set.patterns.map(\.caseInsensitive), [false, false, true, true])
        XCTAssertEqual(set.allow, [])
        XCTAssertEqual(set.browserMarkers, [])
    }

    func testInvalidSupplementRegexNamesFileAndLine() throws {
        try write(BotPatternFiles.supplementFile, "# comment\ncurl\nbroken(\n")
        XCTAssertThrowsError(try BotPatternFiles.load(directory: dir.path)) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.line, 3)
            XCTAssertEqual(e.file, dir.appendingPathComponent(BotPatternFiles.supplementFile).path)
            XCTAssertTrue(e.description.contains("\"broken(\": invalid regular expression"), e.description)
        }
    }

    func testAllowEntryMatchingEverythingIsRejected() throws {
        try write(BotPatternFiles.allowFile, "ok\n(foo)?\n")
        XCTAssertThrowsError(try BotPatternFiles.load(directory: dir.path)) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.line, 2)
            XCTAssertTrue(e.description.contains("matches the empty string"), e.description)
        }
    }

    func testInvalidCrawlerListPatternNamesItsIndex() throws {
        try write(BotPatternFiles.crawlerListFile, #"[{"pattern": "ok"}, {"pattern": "a[b"}]"#)
        XCTAssertThrowsError(try BotPatternFiles.load(directory: dir.path)) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.key, "[1].pattern")
            XCTAssertTrue(e.description.contains("\"a[b\""), e.description)
        }
    }

    func testCrawlerListEntryWithoutPatternIsAnError() throws {
        try write(BotPatternFiles.crawlerListFile, #"[{"url": "x"}]"#)
        XCTAssertThrowsError(try BotPatternFiles.load(directory: dir.path)) { error in
            XCTAssertEqual((error as! ConfigError).key, "[0].pattern")
        }
    }

    func testMissingCrawlerListIsAnErrorWithAHint() throws {
        try FileManager.default.removeItem(at: dir.appendingPathComponent(BotPatternFiles.crawlerListFile))
        XCTAssertThrowsError(try BotPatternFiles.load(directory: dir.path)) { error in
            let e = error as! ConfigError
            XCTAssertTrue(e.description.contains("refresh-bot-patterns"), e.description)
        }
    }
}
