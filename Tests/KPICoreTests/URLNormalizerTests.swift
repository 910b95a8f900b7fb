import XCTest
@testable import KPICore

/// URL normalisation for the self-referrer filter (issue 3, "Self-referrer reloads").
final class URLNormalizerTests: XCTestCase {
    /// Compares over fresh buffers at odd offsets, so nothing depends on String storage.
    private func same(_ a: String, _ b: String) -> Bool {
        withBuffer(a) { ra in withBuffer(b) { rb in URLNormalizer.sameResource(ra, rb) } }
    }

    private func withBuffer<R>(_ s: String, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let bytes = Array(s.utf8)
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count + 1, alignment: 8)
        defer { p.deallocate() }
        let view = UnsafeMutableRawBufferPointer(rebasing: p[1..<(1 + bytes.count)])
        bytes.withUnsafeBytes { view.copyMemory(from: $0) }
        return body(UnsafeRawBufferPointer(view))
    }

    /// (input, normal form or nil when it is not a URL, why)
    private let normalForms: [(String, String?, String)] = [
        ("https://a.com", "https://a.com", "already normal"),
        ("https://a.com/", "https://a.com", "trailing slash of an empty path"),
        ("HTTPS://A.COM:443/#x", "https://a.com", "scheme and host case, default port, fragment"),
        ("http://a.com:80/x", "http://a.com/x", "http default port"),
        ("http://a.com:443/x", "http://a.com:443/x", "443 is not http's default"),
        ("https://a.com:80/x", "https://a.com:80/x", "80 is not https's default"),
        ("https://a.com:0443/x", "https://a.com/x", "ports compare as numbers"),
        ("https://a.com:8443/x", "https://a.com:8443/x", "other ports kept"),
        ("https://a.com:/x", "https://a.com/x", "empty port"),
        ("https://A.com/Path/To", "https://a.com/Path/To", "path case kept"),
        ("https://a.com/a/", "https://a.com/a", "one trailing slash dropped"),
        ("https://a.com/a//", "https://a.com/a/", "only one"),
        ("https://a.com//", "https://a.com/", "only one, on an empty path too"),
        ("https://a.com/a/?q=1", "https://a.com/a?q=1", "trailing slash before the query"),
        ("https://a.com/?q=1", "https://a.com?q=1", "slash-only path before the query"),
        ("https://a.com?q=1", "https://a.com?q=1", "no path"),
        ("https://a.com/a?", "https://a.com/a", "? with an empty query"),
        ("https://a.com/a?#f", "https://a.com/a", "empty query and fragment"),
        ("https://a.com/a?B=2&a=1", "https://a.com/a?B=2&a=1", "query bytes kept as they are"),
        ("https://a.com/a?q=/", "https://a.com/a?q=/", "a slash ending the query is kept"),
        ("https://a.com/a#", "https://a.com/a", "empty fragment"),
        ("https://a.com/a#/b?c", "https://a.com/a", "fragment with / and ?"),
        ("https://a.com/%7Ea%2f", "https://a.com/%7Ea%2f", "percent-encoding left as is"),
        ("https://user:pw@a.com/x", "https://a.com/x", "userinfo dropped"),
        ("https://u@v@A.com/x", "https://a.com/x", "userinfo up to the last @"),
        ("https://[::1]/x", "https://[::1]/x", "IPv6 host"),
        ("https://[::1]:443/x", "https://[::1]/x", "IPv6 host, default port"),
        ("http://[FE80::A]:8080", "http://[fe80::a]:8080", "IPv6 lower-cased, port kept"),
        ("HtTp://Ex-Ample.COM.", "http://ex-ample.com.", "trailing dot of the host kept"),
        ("git+SSH://h/r", "git+ssh://h/r", "any scheme"),
        ("  https://a.com/x \n", "https://a.com/x", "surrounding whitespace trimmed"),
        ("https://bücher.DE/x", "https://bücher.de/x", "only ASCII letters are folded"),
        ("", nil, "empty"),
        ("   ", nil, "blank"),
        ("not a url", nil, "garbage"),
        ("a.com/x", nil, "no scheme"),
        ("//a.com/x", nil, "scheme-relative"),
        ("/x?y", nil, "relative"),
        ("mailto:a@b.com", nil, "no //"),
        ("https:a.com", nil, "no //"),
        ("https://", nil, "no host"),
        ("https:///x", nil, "empty host"),
        ("https://user@/x", nil, "empty host after userinfo"),
        ("https://:443/x", nil, "only a port"),
        ("https://a.com:44x3/", nil, "port not a number"),
        ("https://a.com:65536/", nil, "port too large"),
        ("https://a.com:80:80/", nil, "two ports"),
        ("https://[::1/x", nil, "unclosed ["),
        ("https://[]/x", nil, "empty IPv6 literal"),
        ("https://[::1]x/", nil, "text after ]"),
        ("https://a b.com/", nil, "space in the host"),
        ("1http://a.com", nil, "scheme starts with a digit"),
        ("ht tp://a.com", nil, "space in the scheme"),
    ]

    func testNormalFormsTable() {
        for (input, expected, why) in normalForms {
            XCTAssertEqual(URLNormalizer.normalize(input), expected, "\(why): \(input.debugDescription)")
        }
    }

    func testSameResourceAgreesWithEqualNormalFormsForEveryPairOfTheTable() {
        let inputs = normalForms.map(\.0) + ["https://a.com/a", "https://A.COM/a", "http://a.com", "https://a.com/A"]
        for a in inputs {
            for b in inputs {
                let na = URLNormalizer.normalize(a), nb = URLNormalizer.normalize(b)
                let expected = na != nil && na == nb
                XCTAssertEqual(same(a, b), expected, "\(a.debugDescription) vs \(b.debugDescription)")
            }
        }
    }

    func testIssueExampleAllEqual() {
        XCTAssertTrue(same("https://a.com/", "https://a.com"))
        XCTAssertTrue(same("https://a.com", "HTTPS://A.COM:443/#x"))
        XCTAssertTrue(same("https://a.com/", "HTTPS://A.COM:443/#x"))
    }

    func testDifferentPagesDiffer() {
        XCTAssertFalse(same("http://a.com/x", "https://a.com/x"), "scheme")
        XCTAssertFalse(same("https://a.com/x", "https://b.com/x"), "host")
        XCTAssertFalse(same("https://a.com/x", "https://a.com/X"), "path case")
        XCTAssertFalse(same("https://a.com/x?q=1", "https://a.com/x?q=2"), "query")
        XCTAssertFalse(same("https://a.com/x?q=1", "https://a.com/x"), "query vs none")
        XCTAssertFalse(same("https://a.com/x?a=1&b=2", "https://a.com/x?b=2&a=1"), "parameter order")
        XCTAssertFalse(same("https://a.com:8443/x", "https://a.com/x"), "port")
        XCTAssertFalse(same("https://a.com/~x", "https://a.com/%7Ex"), "percent-encoding")
        XCTAssertFalse(same("https://a.com/x", "https://a.com/x/y"), "prefix")
        XCTAssertFalse(same("https://a.com/x", "https://a.com.evil/x"), "host prefix")
    }

    func testNonURLsNeverMatchEvenThemselves() {
        for s in ["", "garbage", "a.com", "//a.com", "https://"] {
            XCTAssertFalse(same(s, s), s.debugDescription)
        }
    }

    func testBufferWithoutBaseAddressIsNotAURL() {
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        XCTAssertNil(URLNormalizer.parse(none))
        XCTAssertFalse(withBuffer("https://a.com") { URLNormalizer.sameResource(none, $0) })
    }

    func testLongQueriesCompareEveryByte() {
        let q = String(repeating: "abcdefgh", count: 9)
        for i in [0, 7, 8, 40, 71] {
            var bytes = Array(q.utf8)
            bytes[i] ^= 0x20
            let changed = String(decoding: bytes, as: UTF8.self)
            XCTAssertFalse(same("https://a.com/p?\(q)", "https://a.com/p?\(changed)"), "byte \(i)")
        }
        XCTAssertTrue(same("https://a.com/p?\(q)#1", "https://A.com/p/?\(q)"))
    }

    // MARK: - The filter

    private func isSelfReferral(_ referrer: JSON?, _ url: JSON?) -> Bool {
        var catalog = FieldCatalog()
        let r = catalog.slot(for: "referrer"), u = catalog.slot(for: "url")
        var fields: [String: JSON] = [:]
        if let referrer { fields["referrer"] = referrer }
        if let url { fields["url"] = url }
        let e = EventFields(catalog: catalog, fields)
        return withExtendedLifetime(e) { SelfReferrerCheck.isSelfReferral(referrer: e.slots[r], url: e.slots[u]) }
    }

    func testClickWhoseReferrerIsItsOwnURLIsASelfReferral() {
        XCTAssertTrue(isSelfReferral("https://961tech.example/p/42/", "HTTPS://961tech.example/p/42#buy"))
    }

    func testClickFromAnotherPageIsNotASelfReferral() {
        XCTAssertFalse(isSelfReferral("https://961tech.example/search?q=rtx", "https://shop.example/p/42"))
    }

    func testMissingNullNonStringOrGarbageReferrerIsNotASelfReferral() {
        XCTAssertFalse(isSelfReferral(nil, "https://a.com"))
        XCTAssertFalse(isSelfReferral(.null, "https://a.com"))
        XCTAssertFalse(isSelfReferral(42, "https://a.com"))
        XCTAssertFalse(isSelfReferral("", "https://a.com"))
        XCTAssertFalse(isSelfReferral(.emptyStringWithoutStorage, "https://a.com"))
        XCTAssertFalse(isSelfReferral("(none)", "(none)"))
        XCTAssertFalse(isSelfReferral("https://a.com", nil))
    }
    /// ``URLNormalizer/sameResource(_:_:)`` is equality of ``URLNormalizer/normalize(_:)`` (nil
    /// equals nothing) on generated pairs: variants of one URL in case, default and explicit
    /// ports, userinfo, trailing slash, empty query, fragment and surrounding space, and garbage.
    func testSameResourceIsEqualityOfNormalForms() {
        let schemes = ["https://", "HTTPS://", "http://", "ftp://", "https:/", ""]
        let users = ["", "", "u:p@", "@"]
        let hosts = ["a.com", "A.Com", "b.com", "[::1]", "", "a b"]
        let ports = ["", "", ":443", ":80", ":", ":0443", ":8080", ":x"]
        let paths = ["", "/", "/p", "/p/", "/P", "//"]
        let queries = ["", "?", "?q=1", "?Q=1"]
        let fragments = ["", "#f", "#"]
        let spaces = ["", " ", "\t"]
        var rng = SplitMix64(seed: 7)
        func pick(_ a: [String]) -> String { a[Int(rng.next() % UInt64(a.count))] }
        func url() -> String {
            pick(spaces) + pick(schemes) + pick(users) + pick(hosts) + pick(ports) + pick(paths) + pick(queries)
                + pick(fragments) + pick(spaces)
        }
        var equal = 0
        for _ in 0..<40_000 {
            let a = url(), b = rng.next() % 4 == 0 ? a : url()
            let expected = URLNormalizer.normalize(a).map { $0 == URLNormalizer.normalize(b) } ?? false
            XCTAssertEqual(same(a, b), expected, "\(a.debugDescription) \(b.debugDescription)")
            if expected { equal += 1 }
        }
        XCTAssertGreaterThan(equal, 2_000)
    }
}
