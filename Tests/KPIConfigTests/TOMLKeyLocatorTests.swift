@testable import KPIConfig
import XCTest

final class TOMLKeyLocatorTests: XCTestCase {
    func testTablesAndKeysAreRecordedWithTheirLines() {
        let text = """
        # comment
        top = 1

        [kpid]
        time_zone = "UTC"   # trailing comment
          flush_interval="1s"

        [storage]
        path = "kpid.db"
        """
        let l = TOMLKeyLocator(text)
        XCTAssertEqual(l.line(of: "top"), 2)
        XCTAssertEqual(l.line(of: "kpid"), 4)
        XCTAssertEqual(l.line(of: "kpid.time_zone"), 5)
        XCTAssertEqual(l.line(of: "kpid.flush_interval"), 6)
        XCTAssertEqual(l.line(of: "storage"), 8)
        XCTAssertEqual(l.line(of: "storage.path"), 9)
        XCTAssertNil(l.line(of: "time_zone"))
    }

    func testArrayOfTablesElementsAreIndexed() {
        let text = """
        [[sources]]
        name = "a"

        [[metrics]]
        name = "m0"

        [[sources]]
        name = "b"

        [[metrics]]
        name = "m1"
        aggregate = "count"
        """
        let l = TOMLKeyLocator(text)
        XCTAssertEqual(l.line(of: "sources"), 1)
        XCTAssertEqual(l.line(of: "sources[0]"), 1)
        XCTAssertEqual(l.line(of: "sources[0].name"), 2)
        XCTAssertEqual(l.line(of: "metrics[0]"), 4)
        XCTAssertEqual(l.line(of: "metrics[0].name"), 5)
        XCTAssertEqual(l.line(of: "sources[1]"), 7)
        XCTAssertEqual(l.line(of: "sources[1].name"), 8)
        XCTAssertEqual(l.line(of: "metrics[1]"), 10)
        XCTAssertEqual(l.line(of: "metrics[1].aggregate"), 12)
    }

    func testSubtablesOfAnArrayElementBelongToTheLastElement() {
        let text = """
        [[metrics]]
        name = "a"
        [[metrics]]
        name = "b"
        [metrics.extra]
        x = 1
        [[metrics.parts]]
        y = 2
        [[metrics.parts]]
        y = 3
        """
        let l = TOMLKeyLocator(text)
        XCTAssertEqual(l.line(of: "metrics[1].extra"), 5)
        XCTAssertEqual(l.line(of: "metrics[1].extra.x"), 6)
        XCTAssertEqual(l.line(of: "metrics[1].parts[0].y"), 8)
        XCTAssertEqual(l.line(of: "metrics[1].parts[1].y"), 10)
    }

    func testCommentsAndStringsDoNotLookLikeKeys() {
        let text = """
        # fake = 1
        # [fake]
        a = "x = 1 # not a comment"
        b = 'c = 2'  # d = 3
        [t] # [u]
        e = 1
        """
        let l = TOMLKeyLocator(text)
        XCTAssertEqual(Set(l.lines.keys), ["a", "b", "t", "t.e"])
        XCTAssertEqual(l.line(of: "t.e"), 6)
    }

    func testQuotedAndDottedKeys() {
        let text = """
        [kpid]
        "time_zone" = "UTC"
        'flush_interval' = "1s"
        "odd key" = 1
        a.b = 2
        "x.y".z = 3
        [ "quoted table" . inner ]
        k = 4
        """
        let l = TOMLKeyLocator(text)
        XCTAssertEqual(l.line(of: "kpid.time_zone"), 2)
        XCTAssertEqual(l.line(of: "kpid.flush_interval"), 3)
        XCTAssertEqual(l.line(of: "kpid.\"odd key\""), 4)
        XCTAssertEqual(l.line(of: "kpid.a"), 5)
        XCTAssertEqual(l.line(of: "kpid.a.b"), 5)
        XCTAssertEqual(l.line(of: "kpid.\"x.y\".z"), 6)
        XCTAssertEqual(l.line(of: "\"quoted table\".inner"), 7)
        XCTAssertEqual(l.line(of: "\"quoted table\".inner.k"), 8)
    }

    func testMultiLineValuesCountOnlyTheirFirstLine() {
        let text = #"""
        [[sources]]
        bind = [
          "tcp://a:1",   # first
          # fake = 1
          "tcp://b:2",
        ]
        note = """
        fake = 2
        [fake]
        """
        lit = '''
        fake = 3 '''
        name = "after"
        """#
        let l = TOMLKeyLocator(text)
        XCTAssertEqual(l.line(of: "sources[0].bind"), 2)
        XCTAssertEqual(l.line(of: "sources[0].bind[0]"), 3)
        XCTAssertEqual(l.line(of: "sources[0].bind[1]"), 5)
        XCTAssertEqual(l.line(of: "sources[0].note"), 7)
        XCTAssertEqual(l.line(of: "sources[0].lit"), 11)
        XCTAssertEqual(l.line(of: "sources[0].name"), 13)
        XCTAssertFalse(l.lines.keys.contains { $0.contains("fake") })
    }

    func testInlineTablesAndArraysOfInlineTables() {
        let text = """
        point = { x = 1, y = { z = "}" } }
        metrics = [
          { name = "a", windows = ["hour"] },
          { name = "b" },
        ]
        after = true
        """
        let l = TOMLKeyLocator(text)
        XCTAssertEqual(l.line(of: "point.x"), 1)
        XCTAssertEqual(l.line(of: "point.y.z"), 1)
        XCTAssertEqual(l.line(of: "metrics[0]"), 3)
        XCTAssertEqual(l.line(of: "metrics[0].name"), 3)
        XCTAssertEqual(l.line(of: "metrics[0].windows[0]"), 3)
        XCTAssertEqual(l.line(of: "metrics[1].name"), 4)
        XCTAssertEqual(l.line(of: "after"), 6)
    }

    func testNearestLineFallsBackToTheClosestAncestor() {
        let text = """
        [[metrics]]
        name = "a"
        [[metrics]]
        events = ["x"]
        """
        let l = TOMLKeyLocator(text)
        XCTAssertEqual(l.nearestLine(of: "metrics[1].name"), 3)
        XCTAssertEqual(l.nearestLine(of: "metrics[1].events[0]"), 4)
        XCTAssertEqual(l.nearestLine(of: "metrics[1].events[5]"), 4)
        XCTAssertEqual(l.nearestLine(of: "metrics[7].name"), 1)
        XCTAssertNil(l.nearestLine(of: "sources[0].name"))
    }

    func testDatesAndCRLFLineEndings() {
        let text = "a = 1979-05-27 07:32:00Z\r\nb = [1, 2]\r\n[t]\r\nc = 3\r\n"
        let l = TOMLKeyLocator(text)
        XCTAssertEqual(l.line(of: "a"), 1)
        XCTAssertEqual(l.line(of: "b"), 2)
        XCTAssertEqual(l.line(of: "t.c"), 4)
    }

    func testSegmentQuotesOnlyWhatIsNotBare() {
        XCTAssertEqual(TOMLKeyLocator.segment("time_zone"), "time_zone")
        XCTAssertEqual(TOMLKeyLocator.segment("a-b_9"), "a-b_9")
        XCTAssertEqual(TOMLKeyLocator.segment("odd key"), "\"odd key\"")
        XCTAssertEqual(TOMLKeyLocator.segment(""), "\"\"")
        XCTAssertEqual(TOMLKeyLocator.join("kpid", "x"), "kpid.x")
        XCTAssertEqual(TOMLKeyLocator.join("", "x"), "x")
    }
}

final class TOMLKeyLocatorRobustnessTests: XCTestCase {
    func testArbitraryTextNeitherCrashesNorHangs() {
        let alphabet = Array("ab =.[]{},\"'#\n\\ 1\t`-_")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let length = Int.random(in: 0..<60, using: &rng)
            let text = String((0..<length).map { _ in alphabet.randomElement(using: &rng)! })
            _ = TOMLKeyLocator(text)
        }
        for text in ["[", "[[", "[[a]", "a = [", "a = {", "a = \"\"\"", "a = '''", "a = [1,", "=", "a.=1", "\"a", "[a.]"] {
            _ = TOMLKeyLocator(text)
            _ = ConfigLoader.diagnose(text)
        }
    }
}
