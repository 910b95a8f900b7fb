/// A bounded cache of bot verdicts in front of a ``BotUserAgentMatcher``: one per thread.
///
/// Keyed by the 64-bit ``ValueHash`` of the user agent's first `maxUserAgentBytes` bytes (so a
/// megabyte user agent is never hashed in full). Each slot is one `UInt64`: the hash with its
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
        var key = ValueHash.hash(bytes: text, seed: 0x6A09_E667_F3BC_C908) & ~1
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

    /// Forgets every verdict (for example after the patterns were reloaded).
    public func removeAll() {
        slots.update(repeating: 0, count: mask + 1)
        clock = 0
    }
}
