import XCTest
@testable import KPICore

/// The one-pass authority scan of ``URLNormalizer`` against the two-pass scan it replaced (kept
/// here as the reference): same scheme, host, port and ends, or nil for both, on generated URLs
/// dense in the bytes that matter (`@ : / ? # [ ]`, spaces, control bytes, DEL, digits).
final class URLNormalizerAuthorityTests: XCTestCase {
    /// The previous implementation: find the authority's end and the last "@", then the host's
    /// end, then check the host's bytes in a second pass (IPv6 brackets and the port are read
    /// as before, by ``URLNormalizer/bracketedHostEnd(_:start:end:)`` and ``URLNormalizer/port(_:after:end:)``).
    static func referenceAuthority(_ url: UnsafeRawBufferPointer) -> URLNormalizer.Authority? {
        guard let b = url.baseAddress else { return nil }
        func at(_ i: Int) -> UInt8 { b.load(fromByteOffset: i, as: UInt8.self) }
        var start = 0, end = url.count
        while start < end, at(start) <= 0x20 { start += 1 }
        while end > start, at(end - 1) <= 0x20 { end -= 1 }
        guard start < end, URLNormalizer.isAlpha(at(start)) else { return nil }
        var i = start + 1
        while i < end, URLNormalizer.isSchemeByte(at(i)) { i += 1 }
        guard i + 2 < end, at(i) == 0x3A, at(i + 1) == 0x2F, at(i + 2) == 0x2F else { return nil }
        let scheme = start..<i
        i += 3
        var authorityEnd = i, hostStart = i
        while authorityEnd < end {
            let c = at(authorityEnd)
            if c == 0x2F || c == 0x3F || c == 0x23 { break }
            if c == 0x40 { hostStart = authorityEnd + 1 }
            authorityEnd += 1
        }
        var hostEnd: Int
        if hostStart < authorityEnd, at(hostStart) == 0x5B {
            guard let e = URLNormalizer.bracketedHostEnd(b, start: hostStart, end: authorityEnd) else { return nil }
            hostEnd = e
        } else {
            hostEnd = hostStart
            while hostEnd < authorityEnd, at(hostEnd) != 0x3A { hostEnd += 1 }
        }
        guard hostEnd > hostStart else { return nil }
        for j in hostStart..<hostEnd where at(j) <= 0x20 || at(j) == 0x7F { return nil }
        guard var port = URLNormalizer.port(b, after: hostEnd, end: authorityEnd) else { return nil }
        if port == URLNormalizer.defaultPort(scheme: scheme, b) { port = -1 }
        return URLNormalizer.Authority(scheme: scheme, host: hostStart..<hostEnd, port: port, end: authorityEnd, textEnd: end)
    }

    static func describe(_ a: URLNormalizer.Authority?) -> String {
        guard let a else { return "nil" }
        return "\(a.scheme) \(a.host) \(a.port) \(a.end) \(a.textEnd)"
    }

    func testOnePassScanAgreesWithTheTwoPassReferenceOnGeneratedURLs() {
        let pieces = ["https://", "http://", "HTTP://", "ftp://", " ", "\t", "\u{7F}", "\u{01}", "@", ":", "::", "/", "?",
                      "#", "[", "]", "[::1]", "a", "A.com", "b.example", "x", "0", "80", "443", "0443", "65535", "65536",
                      "user:pw@", "é", "%7E", "-", ".", "q=1"]
        var rng = SplitMix64(seed: 3)
        var urls = 0, parsed = 0
        for _ in 0..<60_000 {
            var text = rng.next() % 8 == 0 ? "" : pieces[Int(rng.next() % 3)]
            for _ in 0..<(1 + rng.next() % 9) { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let bytes = Array(text.utf8)
            let (new, old) = bytes.withUnsafeBytes { b in
                (Self.describe(URLNormalizer.authority(b)), Self.describe(Self.referenceAuthority(b)))
            }
            XCTAssertEqual(new, old, text.debugDescription)
            urls += 1
            if new != "nil" { parsed += 1 }
        }
        // Both outcomes are well represented.
        XCTAssertGreaterThan(parsed, urls / 20)
        XCTAssertLessThan(parsed, urls - urls / 20)
    }
    /// The word-at-a-time authority scan: long authorities of arbitrary bytes (letters, every
    /// special byte, UTF-8 and other bytes ≥ 0x80), so that a special byte falls at every offset
    /// of a word and in the tail shorter than a word.
    func testWordAtATimeScanAgreesWithTheReferenceOnLongAuthoritiesOfArbitraryBytes() {
        let specials: [UInt8] = [0x00, 0x09, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x24, 0x2E, 0x2F, 0x30, 0x39, 0x3A, 0x3B,
                                 0x3E, 0x3F, 0x40, 0x41, 0x5B, 0x5D, 0x7E, 0x7F, 0x80, 0x9F, 0xA0, 0xC3, 0xFF]
        let schemes = ["https://", "http://", "HTTPS://", " http://", "x+y.z://"].map { Array($0.utf8) }
        var rng = SplitMix64(seed: 11)
        var parsed = 0
        for n in 0..<60_000 {
            var bytes = schemes[Int(rng.next() % UInt64(schemes.count))]
            let length = Int(rng.next() % 40)
            let density = 1 + rng.next() % 12 // one special byte in `density`, on average
            for _ in 0..<length {
                if rng.next() % density == 0 {
                    bytes.append(specials[Int(rng.next() % UInt64(specials.count))])
                } else {
                    bytes.append(UInt8(ascii: "a") + UInt8(rng.next() % 26))
                }
            }
            if rng.next() % 2 == 0 { bytes += Array("/p/\(n)?q=1#f".utf8) }
            let (new, old) = bytes.withUnsafeBytes { b in
                (Self.describe(URLNormalizer.authority(b)), Self.describe(Self.referenceAuthority(b)))
            }
            XCTAssertEqual(new, old, "\(bytes)")
            if new != "nil" { parsed += 1 }
        }
        XCTAssertGreaterThan(parsed, 10_000)
        XCTAssertLessThan(parsed, 50_000)
    }

    func testSpecialByteMaskFindsTheFirstSpecialByteOfAWord() {
        var rng = SplitMix64(seed: 12)
        let interesting: [UInt8] = [0x00, 0x20, 0x21, 0x23, 0x2F, 0x3A, 0x3F, 0x40, 0x7F, 0x80, 0xA3, 0xAF, 0xBA, 0xC0, 0xFF, 0x61]
        for _ in 0..<200_000 {
            var word: UInt64 = 0
            var first = 8
            for k in 0..<8 {
                let byte = rng.next() % 3 == 0 ? interesting[Int(rng.next() % UInt64(interesting.count))] : UInt8(truncatingIfNeeded: rng.next())
                word |= UInt64(byte) << (8 * UInt64(k))
                if first == 8, URLNormalizer.isAuthoritySpecial(byte) { first = k }
            }
            let mask = URLNormalizer.authoritySpecialBytes(word)
            XCTAssertEqual(mask == 0 ? 8 : mask.trailingZeroBitCount >> 3, first, String(word, radix: 16))
        }
    }
}
