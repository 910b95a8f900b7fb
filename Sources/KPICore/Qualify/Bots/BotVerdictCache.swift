/// A bounded cache of bot verdicts in front of a ``BotUserAgentMatcher``: one per thread.
///
/// Keyed by a 64-bit hash of the user agent's first `maxUserAgentBytes` bytes (so a megabyte
/// user agent is never hashed in full): four independent multiply-rotate lanes over 32-byte
/// blocks (the xxHash64 round), finished by ``ValueHash``'s mixer — about 3× faster than
/// ``ValueHash/hash(bytes:seed:)`` on 150-byte agents, which matters at this budget. Each slot is one `UInt64`: the hash with its
/// lowest bit replaced by the verdict, 0 meaning empty. Open addressing with a probe window
/// of 8 slots; when a window is full, a rotating ("clock") position in it is replaced. Lookups
/// and inserts allocate nothing.
///
/// Memory: 8 bytes per slot (`capacity` rounded up to a power of two; 512 KB at 65,536).
/// Two different user agents whose hashes agree in 63 bits share a verdict: with 65,536 cached
/// agents the chance that a new one collides is about 2⁻⁴⁷.
public final class BotVerdictCache {
    public let matcher: BotUserAgentMatcher
    private let slots: UnsafeMutablePointer<UInt64>
    private let mask: Int
    private var clock = 0
    public private(set) var hits: Int64 = 0
    public private(set) var misses: Int64 = 0

    static let window = 8

    public var capacity: Int { mask + 1 }

    public init(matcher: BotUserAgentMatcher, capacity: Int = 65_536) {
        self.matcher = matcher
        var n = 16
        while n < capacity { n <<= 1 }
        slots = .allocate(capacity: n)
        slots.initialize(repeating: 0, count: n)
        mask = n - 1
    }

    deinit { slots.deallocate() }

    /// The verdict for `userAgent`, from the cache when it was seen before. An empty user agent
    /// is a bot (and is not cached).
    public func isBot(_ userAgent: UnsafeRawBufferPointer) -> Bool {
        let n = min(userAgent.count, matcher.maxUserAgentBytes)
        if n == 0 { return true }
        let text = UnsafeRawBufferPointer(rebasing: userAgent[0..<n])
        var key = Self.key(text) & ~1
        if key == 0 { key = 2 }
        let start = Int(truncatingIfNeeded: key >> 32) & mask
        var free = -1
        for j in 0..<Self.window {
            let i = (start &+ j) & mask
            let v = slots[i]
            if v == 0 {
                free = i
                break
            }
            if v & ~1 == key {
                hits &+= 1
                return v & 1 == 1
            }
        }
        misses &+= 1
        let verdict = matcher.isBot(text)
        if free < 0 {
            free = (start &+ (clock & (Self.window - 1))) & mask
            clock &+= 1
        }
        slots[free] = key | (verdict ? 1 : 0)
        return verdict
    }

    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63

    @inline(__always)
    private static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        let a = acc &+ input &* p2
        return ((a << 31) | (a >> 33)) &* p1
    }

    /// The cache key of `b` (not empty).
    @inline(__always)
    static func key(_ b: UnsafeRawBufferPointer) -> UInt64 {
        let base = b.baseAddress!
        let n = b.count
        @inline(__always) func word(_ i: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) }
        var i = 0
        var h: UInt64 = 0x27D4_EB2F_1656_67C5 &+ UInt64(truncatingIfNeeded: n)
        if n >= 32 {
            var v1: UInt64 = p1 &+ p2, v2: UInt64 = p2, v3: UInt64 = 0, v4: UInt64 = 0 &- p1
            while i + 32 <= n {
                v1 = round(v1, word(i))
                v2 = round(v2, word(i + 8))
                v3 = round(v3, word(i + 16))
                v4 = round(v4, word(i + 24))
                i += 32
            }
            h ^= ValueHash.mix(v1) &+ ValueHash.mix(v2 ^ 0x5851_F42D_4C95_7F2D)
            h ^= ValueHash.mix(v3 ^ 0x1405_7B7E_F767_814F) &+ ValueHash.mix(v4 ^ 0x2545_F491_4F6C_DD1D)
        }
        while i + 8 <= n {
            h ^= round(0, word(i))
            h = ((h << 27) | (h >> 37)) &* p1 &+ p4
            i += 8
        }
        var tail: UInt64 = 0
        var shift: UInt64 = 0
        while i < n {
            tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
            shift += 8
            i += 1
        }
        return ValueHash.mix(h ^ round(0x1656_67B1_9E37_79F9, tail))
    }

    /// Forgets every verdict (for example after the patterns were reloaded).
    public func removeAll() {
        slots.update(repeating: 0, count: mask + 1)
        clock = 0
    }
}
