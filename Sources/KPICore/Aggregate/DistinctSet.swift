/// An exact set of distinct values, kept as their 64-bit hashes (see ``ValueHash``; no strings
/// are kept), with the size limit above which its owner switches to a ``HyperLogLog``.
///
/// The hashes are already well mixed, so they index an open-addressing table directly instead
/// of being hashed again as `Set<UInt64>` would: the slot is the hash's high bits scaled to the
/// table size (a multiply, Lemire's "fastrange"), then linear probing. The table is at most 4/5
/// full and grows by half when it would be fuller, so it is always between 8/15 and 4/5 full:
/// **10–15 bytes per element** (8 bytes per slot); the unsuccessful-probe length at 4/5 is about
/// 13 slots (two cache lines). Allocates only when it grows. Single-threaded.
///
/// Ownership: a plain value over manually managed storage, so that the cells holding one stay
/// plain values and the engine's hot path does no reference counting. Exactly one owner (the
/// engine's cell) calls ``release()`` once, after which neither it nor any copy may be used.
struct DistinctSet {
    /// Default of `distinct_exact_max`: exact up to this many values per window and group.
    static let defaultExactMax = 100_000
    /// Slots; 0 marks an empty one (the hash 0 itself is tracked by `hasZero`).
    private var table: UnsafeMutablePointer<UInt64>
    private var size: Int32
    private var stored: Int32 = 0
    /// Past this many elements the owner should switch to an estimate (see ``isOverLimit``).
    let limit: Int32
    private var hasZero = false

    /// Creates an empty set with room for about `capacity` elements before it grows; `limit` is
    /// the `distinct_exact_max` it reports against (at most `Int32.max - 1`).
    init(capacity: Int = 0, limit: Int = DistinctSet.defaultExactMax) {
        var n = 8
        while n * 4 < capacity * 5 { n += n / 2 }
        size = Int32(n)
        self.limit = Int32(clamping: limit)
        table = .allocate(capacity: n)
        table.initialize(repeating: 0, count: n)
    }

    /// Frees the storage.
    func release() { table.deallocate() }

    @inline(__always)
    private func home(_ h: UInt64) -> Int {
        Int(truncatingIfNeeded: h.multipliedFullWidth(by: UInt64(UInt32(bitPattern: size))).high)
    }

    /// Adds a hash; true when it was new.
    @inline(__always) @discardableResult
    mutating func insert(_ h: UInt64) -> Bool {
        if h == 0 {
            if hasZero { return false }
            hasZero = true
            return true
        }
        var i = home(h)
        let n = Int(size)
        while true {
            let x = table[i]
            if x == h { return false }
            if x == 0 { break }
            i &+= 1
            if i == n { i = 0 }
        }
        table[i] = h
        stored &+= 1
        if Int(stored) * 5 > n * 4 { grow() }
        return true
    }

    /// Whether `h` was inserted.
    func contains(_ h: UInt64) -> Bool {
        if h == 0 { return hasZero }
        var i = home(h)
        let n = Int(size)
        while true {
            let x = table[i]
            if x == h { return true }
            if x == 0 { return false }
            i &+= 1
            if i == n { i = 0 }
        }
    }

    /// Number of distinct hashes inserted.
    var count: Int { Int(stored) + (hasZero ? 1 : 0) }

    /// True once the set holds more than ``limit`` elements.
    @inline(__always)
    var isOverLimit: Bool { count > Int(limit) }

    /// Bytes of the table (8 per slot).
    var tableBytes: Int { Int(size) * 8 }

    /// Calls `body` with every hash in the set.
    func forEach(_ body: (UInt64) -> Void) {
        if hasZero { body(0) }
        for i in 0..<Int(size) where table[i] != 0 { body(table[i]) }
    }

    /// Adds every hash of `other` (the union); `other` is left as it is.
    mutating func formUnion(_ other: DistinctSet) {
        other.forEach { insert($0) }
    }

    private mutating func grow() {
        let old = table, oldSize = Int(size)
        let n = oldSize + oldSize / 2
        size = Int32(n)
        table = .allocate(capacity: n)
        table.initialize(repeating: 0, count: n)
        for k in 0..<oldSize where old[k] != 0 {
            var j = home(old[k])
            while table[j] != 0 {
                j += 1
                if j == n { j = 0 }
            }
            table[j] = old[k]
        }
        old.deallocate()
    }
}
