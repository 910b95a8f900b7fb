/// A bounded cache of bot verdicts in front of a ``BotUserAgentMatcher``: one per thread.
///
/// Keyed by a 64-bit hash of the user agent's first `maxUserAgentBytes` bytes (so a megabyte
/// user agent is never hashed in full): wyhash's construction, one 128-bit multiply per 16 bytes
/// and two for the last 16, so a 70-byte agent costs six multiplies (the key is never stored,
/// so it can change between versions). Each slot is one `UInt64`: the hash with its
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

    // The secrets of wyhash (final version 4).
    private static let s0: UInt64 = 0xA076_1D64_78BD_642F
    private static let s1: UInt64 = 0xE703_7ED1_A0B4_28DB

    /// The two halves of the 128-bit product of `a` and `b`, folded by xor (wyhash's mixer).
    @inline(__always)
    private static func mum(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let p = a.multipliedFullWidth(by: b)
        return p.high ^ p.low
    }

    /// The cache key of `b` (not empty): wyhash's structure, one 64×64→128-bit multiply per 16
    /// bytes, the last 16 bytes (or all of a shorter agent) read with two overlapping loads.
    @inline(__always)
    static func key(_ b: UnsafeRawBufferPointer) -> UInt64 {
        let base = b.baseAddress!
        let n = b.count
        @inline(__always) func word(_ i: Int) -> UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) }
        @inline(__always) func half(_ i: Int) -> UInt64 {
            UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
        }
        @inline(__always) func byte(_ i: Int) -> UInt64 { UInt64(base.load(fromByteOffset: i, as: UInt8.self)) }
        var seed = s0 ^ mum(s0 ^ s1, s1)
        let x: UInt64, y: UInt64
        if n <= 16 {
            if n >= 8 {
                x = word(0); y = word(n - 8)
            } else if n >= 4 {
                x = half(0) << 32 | half(n - 4); y = 0
            } else {
                x = byte(0) << 16 | byte(n >> 1) << 8 | byte(n - 1); y = 0
            }
        } else {
            var i = 0
            while i + 16 < n {
                seed = mum(word(i) ^ s1, word(i + 8) ^ seed)
                i += 16
            }
            x = word(n - 16); y = word(n - 8)
        }
        return mum(s1 ^ UInt64(truncatingIfNeeded: n), mum(x ^ s1, y ^ seed))
    }

    /// Forgets every verdict (for example after the patterns were reloaded).
    public func removeAll() {
        slots.update(repeating: 0, count: mask + 1)
        clock = 0
    }
}
