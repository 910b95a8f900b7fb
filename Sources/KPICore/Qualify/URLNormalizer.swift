/// The normal form of a URL used by the self-referrer filter, computed as byte ranges over the
/// URL's own bytes so that comparing two URLs allocates nothing.
///
/// A URL is `scheme://[userinfo@]host[:port][path][?query][#fragment]`. Normalisation:
/// - trims ASCII spaces and control characters around the URL;
/// - lower-cases the scheme and the host (ASCII letters only: other bytes, such as UTF-8 or
///   percent escapes in a host, are compared as they are; `xn--` and Unicode hosts differ);
/// - drops the userinfo (`user:pass@`): browsers never send it in a `Referer`;
/// - drops the port when it is the scheme's default (80 for `http`, 443 for `https`) or empty
///   (`a.com:`); other ports are compared as numbers (`:0080` is `:80`);
/// - keeps IPv6 hosts in their brackets, lower-cased but not otherwise rewritten
///   (`[::1]` and `[0::1]` differ); `[::1]:443` with `https` drops the port;
/// - drops one trailing `/` of the path, so `https://a.com/` is `https://a.com` and `/a/?q=1` is
///   `/a?q=1`; `//` at the end loses only one slash; the path keeps its case;
/// - keeps the query and its exact bytes (order and case of parameters included), but drops a
///   `?` with nothing after it (`/a?` is `/a`);
/// - drops the fragment (`#…`);
/// - leaves percent-encoding as it is (`%7E` and `~` differ, and so do `%2f` and `%2F`).
///
/// Anything without `scheme://` and a non-empty host is not a URL (`nil`): relative references,
/// `//a.com/x`, `mailto:`, garbage, empty text. So is a host with spaces or control bytes, an
/// unclosed `[`, or a port that is not a number up to 65535.
public enum URLNormalizer {
    /// The parts of one URL, as byte ranges of its buffer.
    public struct Parts: Sendable, Equatable {
        /// Without `://`.
        public var scheme: Range<Int>
        /// Brackets included for IPv6.
        public var host: Range<Int>
        /// The port number, or -1 when absent, empty or the scheme's default.
        public var port: Int32
        /// The path without one trailing `/` (empty for `""` and `"/"`).
        public var path: Range<Int>
        /// The query after `?`, empty when there is none.
        public var query: Range<Int>
    }

    /// The parts of `url`, or nil when it is not an absolute URL with a host. No allocation.
    public static func parse(_ url: UnsafeRawBufferPointer) -> Parts? {
        guard let a = authority(url) else { return nil }
        let (path, query) = pathAndQuery(url, a)
        return Parts(scheme: a.scheme, host: a.host, port: a.port, path: path, query: query)
    }

    /// Whether `a` and `b` are URLs with equal normal forms. A buffer that is not a URL equals
    /// nothing. Compares host, port and scheme before it reads paths. No allocation.
    public static func sameResource(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        var x = Authority.none, y = Authority.none
        guard scanAuthority(a, into: &x), scanAuthority(b, into: &y), x.port == y.port,
              equalFoldingCase(a, x.host, b, y.host), equalFoldingCase(a, x.scheme, b, y.scheme)
        else { return false }
        let (px, qx) = pathAndQuery(a, x)
        let (py, qy) = pathAndQuery(b, y)
        return equalBytes(a, px, b, py) && equalBytes(a, qx, b, qy)
    }

    /// Scheme, host and port of a URL, and where its authority and its trimmed text end.
    struct Authority {
        var scheme: Range<Int>
        var host: Range<Int>
        var port: Int32
        var end: Int
        var textEnd: Int

        static let none = Authority(scheme: 0..<0, host: 0..<0, port: -1, end: 0, textEnd: 0)
    }

    /// The scheme, host and port of `url`, or nil when it is not an absolute URL with a host.
    static func authority(_ url: UnsafeRawBufferPointer) -> Authority? {
        var a = Authority.none
        return scanAuthority(url, into: &a) ? a : nil
    }

    /// ``authority(_:)`` into `result`; false when `url` is not an absolute URL with a host.
    /// (``sameResource(_:_:)`` reads two of them: an optional six-word result comes back through
    /// memory and was copied there, at the cost of a store-forwarding stall.)
    static func scanAuthority(_ url: UnsafeRawBufferPointer, into result: inout Authority) -> Bool {
        guard let b = url.baseAddress else { return false }
        @inline(__always) func at(_ i: Int) -> UInt8 { b.load(fromByteOffset: i, as: UInt8.self) }
        var start = 0
        var end = url.count
        while start < end, at(start) <= 0x20 { start += 1 }
        while end > start, at(end - 1) <= 0x20 { end -= 1 }

        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) "://"
        guard start < end, isAlpha(at(start)) else { return false }
        var i = start + 1
        while i < end, isSchemeByte(at(i)) { i += 1 }
        guard i + 2 < end, at(i) == 0x3A, at(i + 1) == 0x2F, at(i + 2) == 0x2F else { return false }
        let scheme = start..<i
        i += 3

        // authority: up to "/", "?", "#" or the end; userinfo is up to the last "@". One pass also
        // finds the first ":" after the last "@" and any space, control byte or DEL after it: such
        // a byte is in the host (not a URL) or in the port (not a number), so it rejects the URL.
        var authorityEnd = i
        var hostStart = i
        var colon = -1
        var badByte = false
        while authorityEnd < end {
            // Eight bytes at a time up to the first special byte (most hosts have none before the
            // "/" that ends them); that byte, and the tail shorter than a word, one at a time.
            if authorityEnd &+ 8 <= end {
                let special = authoritySpecialBytes(
                    UInt64(littleEndian: b.loadUnaligned(fromByteOffset: authorityEnd, as: UInt64.self)))
                if special == 0 {
                    authorityEnd &+= 8
                    continue
                }
                authorityEnd &+= special.trailingZeroBitCount >> 3
            }
            let c = at(authorityEnd)
            if isAuthoritySpecial(c) { // one bit test for every other byte
                if c == 0x2F || c == 0x3F || c == 0x23 { break }
                if c == 0x40 {
                    hostStart = authorityEnd + 1
                    colon = -1
                    badByte = false
                } else if c == 0x3A {
                    if colon < 0 { colon = authorityEnd }
                } else if c <= 0x20 || c == 0x7F {
                    badByte = true
                }
            }
            authorityEnd += 1
        }
        if badByte { return false }
        let hostEnd: Int
        if hostStart < authorityEnd, at(hostStart) == 0x5B {
            guard let e = bracketedHostEnd(b, start: hostStart, end: authorityEnd) else { return false }
            hostEnd = e
        } else {
            hostEnd = colon >= 0 ? colon : authorityEnd
        }
        guard hostEnd > hostStart else { return false }

        guard var port = port(b, after: hostEnd, end: authorityEnd) else { return false }
        if port >= 0, port == defaultPort(scheme: scheme, b) { port = -1 }
        result = Authority(scheme: scheme, host: hostStart..<hostEnd, port: port, end: authorityEnd, textEnd: end)
        return true
    }

    /// Where the IPv6 literal host `[…]` that starts at `start` ends (after its `]`), in an
    /// authority that ends at `end`; nil when the `]` is missing, the brackets are empty, or
    /// something other than `:` follows them.
    static func bracketedHostEnd(_ b: UnsafeRawPointer, start: Int, end: Int) -> Int? {
        var i = start + 1
        while i < end, b.load(fromByteOffset: i, as: UInt8.self) != 0x5D { i += 1 }
        guard i < end, i > start + 1 else { return nil }
        i += 1
        guard i == end || b.load(fromByteOffset: i, as: UInt8.self) == 0x3A else { return nil }
        return i
    }

    /// The port of an authority whose host ends at `hostEnd` and which ends at `end`: `":" *DIGIT`,
    /// at most 65535; -1 when there is none or it is empty; nil when it is not a number.
    static func port(_ b: UnsafeRawPointer, after hostEnd: Int, end: Int) -> Int32? {
        guard hostEnd < end else { return -1 }
        var value: Int32 = 0
        for j in (hostEnd + 1)..<end {
            let c = b.load(fromByteOffset: j, as: UInt8.self)
            guard c >= 0x30, c <= 0x39 else { return nil }
            value = value * 10 + Int32(c - 0x30)
            guard value <= 65_535 else { return nil }
        }
        return hostEnd + 1 < end ? value : -1
    }

    /// The path (without one trailing `/`) and the query (without `?`) of the URL `url` whose
    /// authority is `a`.
    static func pathAndQuery(_ url: UnsafeRawBufferPointer, _ a: Authority) -> (path: Range<Int>, query: Range<Int>) {
        guard let b = url.baseAddress else { return (0..<0, 0..<0) } // never: `a` came from `url`
        @inline(__always) func at(_ i: Int) -> UInt8 { b.load(fromByteOffset: i, as: UInt8.self) }
        let end = a.textEnd
        var pathEnd = a.end
        while pathEnd < end, at(pathEnd) != 0x3F, at(pathEnd) != 0x23 { pathEnd += 1 }
        var query = pathEnd..<pathEnd
        if pathEnd < end, at(pathEnd) == 0x3F {
            var queryEnd = pathEnd + 1
            while queryEnd < end, at(queryEnd) != 0x23 { queryEnd += 1 }
            query = (pathEnd + 1)..<queryEnd
        }
        var path = a.end..<pathEnd
        if !path.isEmpty, at(path.upperBound - 1) == 0x2F { path = path.lowerBound..<(path.upperBound - 1) }
        return (path, query)
    }

    /// The normal form of `url` as text, or nil when it is not a URL (for tests and docs: it
    /// allocates). Two URLs have equal normal forms exactly when ``sameResource(_:_:)`` is true.
    public static func normalize(_ url: String) -> String? {
        var url = url
        return url.withUTF8 { u -> String? in
            let raw = UnsafeRawBufferPointer(u)
            guard let p = parse(raw) else { return nil }
            var out = [UInt8]()
            out.reserveCapacity(raw.count)
            for i in p.scheme { out.append(lower(raw[i])) }
            out.append(contentsOf: "://".utf8)
            for i in p.host { out.append(lower(raw[i])) }
            if p.port >= 0 { out.append(contentsOf: ":\(p.port)".utf8) }
            out.append(contentsOf: raw[p.path])
            if !p.query.isEmpty {
                out.append(0x3F)
                out.append(contentsOf: raw[p.query])
            }
            return String(decoding: out, as: UTF8.self)
        }
    }

    // MARK: - Bytes

    @inline(__always)
    static func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }

    @inline(__always)
    static func isSchemeByte(_ c: UInt8) -> Bool {
        isAlpha(c) || (c >= 0x30 && c <= 0x39) || c == 0x2B || c == 0x2D || c == 0x2E
    }

    /// Whether `c` ends the authority (`/ ? #`), separates userinfo or port (`@ :`), or may
    /// not be in it (space, control bytes, DEL): a bit test in two 64-bit masks.
    @inline(__always)
    static func isAuthoritySpecial(_ c: UInt8) -> Bool {
        let low: UInt64 = 0x1_FFFF_FFFF | 1 << 0x23 | 1 << 0x2F | 1 << 0x3A | 1 << 0x3F // 0x00–0x20 # / : ?
        let high: UInt64 = 1 | 1 << 63 // @ and DEL
        return c < 64 ? (low >> UInt64(c)) & 1 != 0 : c < 128 && (high >> UInt64(c &- 64)) & 1 != 0
    }

    /// The bytes of the little-endian word `w` for which ``isAuthoritySpecial(_:)`` holds, as
    /// the high bit of each such byte, exact up to the lowest one (bytes above a flagged byte may
    /// be flagged wrongly): 0 when none is special, else its `trailingZeroBitCount / 8` is the
    /// index of the first special byte. Branch-free SWAR: seven byte tests, a few operations each.
    @inline(__always)
    static func authoritySpecialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        // A byte of `x` is zero: exact at the lowest zero byte (a borrow only moves upwards).
        @inline(__always) func zero(_ x: UInt64) -> UInt64 { (x &- ones) & ~x }
        let below21 = w &- ones &* 0x21 // bytes 0x00–0x20 borrow; bytes ≥ 0x80 are cleared by ~w
        var m = below21
        m |= zero(w ^ (ones &* 0x23)) // #
        m |= zero(w ^ (ones &* 0x2F)) // /
        m |= zero(w ^ (ones &* 0x3A)) // :
        m |= zero(w ^ (ones &* 0x3F)) // ?
        m |= zero(w ^ (ones &* 0x40)) // @
        m |= zero(w ^ (ones &* 0x7F)) // DEL
        return m & ~w & high
    }

    @inline(__always)
    static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

    /// 80 for `http`, 443 for `https` (any case), else -1.
    static func defaultPort(scheme: Range<Int>, _ b: UnsafeRawPointer) -> Int32 {
        let n = scheme.count
        guard n == 4 || n == 5 else { return -1 }
        let s = scheme.lowerBound
        func c(_ k: Int) -> UInt8 { lower(b.load(fromByteOffset: s + k, as: UInt8.self)) }
        guard c(0) == 0x68, c(1) == 0x74, c(2) == 0x74, c(3) == 0x70 else { return -1 } // "http"
        if n == 4 { return 80 }
        return c(4) == 0x73 ? 443 : -1 // "https"
    }

    static func equalBytes(_ a: UnsafeRawBufferPointer, _ ra: Range<Int>,
                           _ b: UnsafeRawBufferPointer, _ rb: Range<Int>) -> Bool {
        guard ra.count == rb.count else { return false }
        if ra.isEmpty { return true }
        return memcmpEqual(a.baseAddress! + ra.lowerBound, b.baseAddress! + rb.lowerBound, ra.count)
    }

    static func equalFoldingCase(_ a: UnsafeRawBufferPointer, _ ra: Range<Int>,
                                 _ b: UnsafeRawBufferPointer, _ rb: Range<Int>) -> Bool {
        guard ra.count == rb.count else { return false }
        var i = ra.lowerBound
        var j = rb.lowerBound
        while i < ra.upperBound {
            if lower(a[i]) != lower(b[j]) { return false }
            i += 1
            j += 1
        }
        return true
    }

    @inline(__always)
    static func memcmpEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        var i = 0
        while i + 8 <= n {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        while i < n {
            if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }
}
