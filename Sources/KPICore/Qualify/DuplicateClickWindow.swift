/// The duplicate-click filter: remembers, per click key, the event time of the last *counted*
/// click, and says whether a new click is a duplicate of it.
///
/// ## The rule
///
/// A click is a **duplicate** when the same key had a counted click whose event time is less than
/// `window` away from it: `|t − last| < window`. Otherwise it is **counted**.
/// - Duplicates never extend the window: only counted clicks are remembered. A visitor who clicks
///   every 4 minutes with a 5-minute window is counted at 0, 8, 16 … minutes.
/// - The boundary is exclusive: with a 5-minute window, 4:59.999 after a counted click is a
///   duplicate and 5:00.000 is counted.
/// - Out-of-order clicks are decided on arrival, against the latest counted click of the key
///   known at that moment. A click *earlier* than the stored one is a duplicate if it is within
///   `window` of it (`|Δ| < window`), else it is counted — and the stored time stays the later
///   one. A click that arrives first is therefore never revised by one that arrives later.
/// - The key is a 64-bit hash of the key fields (``key(of:)``). Two different keys with equal
///   hashes share one entry: with n live keys the chance that a given new key collides is about
///   n/2⁶⁴ (10⁻¹² at 10 million keys), and a collision can, very rarely, mark a click as a
///   duplicate that is not one. Hashes 0 and 1 are stored as 2 and 3, which adds nothing
///   measurable to that chance.
///
/// ## State, expiry and the cap
///
/// Each live key costs one 16-byte table slot (hash, last counted time) in an open-addressing
/// table with linear probing, and one 8-byte entry in a FIFO queue (ring) of (slot, low 32 bits of
/// the time), in the order in which clicks were counted. There are no per-key objects and no
/// allocation per click; memory grows only when the table (×4/3) or the ring (×3/2) grows.
/// The table is rebuilt at 80% load (live keys + tombstones) to 60% load, and shrunk when the
/// load falls under 20%. ``residentBytes`` is the capacity of both: 16 B per table slot + 8 B per
/// ring entry, so between about 28 and 43 bytes per live key (at most 48 bytes is the target).
///
/// - ``expire(before:)`` drops keys whose last counted time + `window` ≤ the watermark: they can no
///   longer make a click at or after the watermark a duplicate. It pops the queue from its head
///   and stops at the first live key that is still inside its window, so a flush costs the number
///   of keys it expires, never a scan of the table. Keys are queued in arrival order, so a key
///   that arrived late (with an older time) may be expired a little after keys queued before it.
///   Once a key has expired, a click *before* the watermark is counted whatever came before it:
///   the caller is expected to pass a watermark below which it no longer accepts clicks.
/// - When a new key would exceed `maxLiveKeys`, the key counted longest ago (by arrival) is evicted
///   first and ``evictions`` grows. An evicted key behaves like an expired one.
/// - A key counted again gets a new queue entry; the old one is skipped when it reaches the head
///   (its time no longer matches the table's) and dropped in bulk when the ring would grow.
///
/// Deletion leaves a tombstone (or an empty slot when the next slot is empty, clearing the
/// tombstones before it too); tombstones are reused by inserts and removed by rebuilds, so probing
/// stays correct. The rebuild walks the queue, which also keeps queue entries pointing at the
/// right slots.
///
/// Pure: no clock, no I/O. Single-threaded: one instance per ingest thread.
public final class DuplicateClickWindow: @unchecked Sendable {
    /// The decision about one click.
    public enum Verdict: UInt8, Sendable {
        /// The click is the first of its key within the window: it is counted and remembered.
        case counted
        /// A counted click of the same key is less than the window away: drop this one.
        case duplicate
    }

    /// Milliseconds within which a click of the same key is a duplicate (exclusive). 0 disables.
    public let window: Int64
    /// The most keys kept; when a new key would exceed it, the oldest key is evicted.
    public let maxLiveKeys: Int

    /// Keys currently remembered.
    public private(set) var liveKeys = 0
    /// Keys evicted early because of ``maxLiveKeys``, since creation.
    public private(set) var evictions = 0
    /// Keys dropped by ``expire(before:)``, since creation.
    public private(set) var expired = 0

    /// One table slot: the stored key hash (0 empty, 1 tombstone, otherwise a key) and the event
    /// time of the key's last counted click.
    @usableFromInline
    struct Slot {
        @usableFromInline var hash: UInt64
        @usableFromInline var time: Int64
    }

    private static let empty: UInt64 = 0
    private static let tombstone: UInt64 = 1
    static let minimumTableCapacity = 64
    static let minimumRingCapacity = 64

    private var table: UnsafeMutablePointer<Slot>
    private var tableCapacity: Int
    /// Live slots + tombstones.
    private var used = 0
    /// Rebuild when `used` would exceed this (80% of the capacity).
    private var maxUsed: Int

    /// Queue of counted clicks: `slot << 32 | UInt32(truncatingIfNeeded: time)`.
    private var ring: UnsafeMutablePointer<UInt64>
    private var ringCapacity: Int
    private var ringHead = 0
    private var ringCount = 0

    /// - Parameters:
    ///   - window: milliseconds within which a repeated click is a duplicate (default 5 minutes);
    ///     negative values are taken as 0 (nothing is a duplicate).
    ///   - maxLiveKeys: the cap on remembered keys, at least 1 (at most 2³¹).
    public init(window: Int64 = 300_000, maxLiveKeys: Int = 10_000_000) {
        self.window = max(0, window)
        self.maxLiveKeys = min(max(1, maxLiveKeys), 1 << 31)
        tableCapacity = Self.minimumTableCapacity
        table = Self.allocateTable(tableCapacity)
        maxUsed = Self.maxUsed(tableCapacity)
        ringCapacity = Self.minimumRingCapacity
        ring = .allocate(capacity: ringCapacity)
    }

    deinit {
        table.deallocate()
        ring.deallocate()
    }

    /// Bytes held by the table and the queue (their capacities, not only the live part).
    public var residentBytes: Int {
        tableCapacity * MemoryLayout<Slot>.stride + ringCapacity * MemoryLayout<UInt64>.stride
    }

    // MARK: - Deciding

    /// Decides whether the click of `key` at `time` is a duplicate, and remembers it when counted.
    ///
    /// Costs one probe sequence in the table (usually one cache line); allocates only when the
    /// table or the queue grows.
    public func check(_ key: UInt64, at time: EpochMillis) -> Verdict {
        let h = Self.stored(key)
        let (found, slot, tomb) = find(h)
        if found {
            let last = table[slot].time
            if Self.distance(time, last) < UInt64(window) { return .duplicate }
            if time > last {
                table[slot].time = time
                enqueue(slot, time)
            }
            return .counted
        }
        insert(h, time, empty: slot, tombstone: tomb)
        return .counted
    }

    /// `|a − b|` without overflow, for any two times.
    @inline(__always)
    static func distance(_ a: Int64, _ b: Int64) -> UInt64 {
        a >= b ? UInt64(bitPattern: a &- b) : UInt64(bitPattern: b &- a)
    }

    @inline(__always)
    static func stored(_ key: UInt64) -> UInt64 { key < 2 ? key &+ 2 : key }

    @inline(__always)
    private func find(_ h: UInt64) -> (found: Bool, slot: Int, tombstone: Int) {
        Self.probe(h, in: table, capacity: tableCapacity)
    }

    /// The slot of `t` holding `h` (`found`), else the empty slot ending its probe sequence and
    /// the first tombstone on the way (-1 when none). The home slot is `h · capacity / 2⁶⁴`
    /// (multiply-shift range reduction, so any capacity works).
    @inline(__always)
    private static func probe(_ h: UInt64, in t: UnsafeMutablePointer<Slot>, capacity: Int)
        -> (found: Bool, slot: Int, tombstone: Int) {
        var i = Int(truncatingIfNeeded: h.multipliedFullWidth(by: UInt64(capacity)).high)
        var tomb = -1
        while true {
            let s = t[i].hash
            if s == h { return (true, i, -1) }
            if s == empty { return (false, i, tomb) }
            if s == tombstone, tomb < 0 { tomb = i }
            i += 1
            if i == capacity { i = 0 }
        }
    }

    /// Adds a key known to be absent, whose probe sequence ended at `empty` (first tombstone `tomb`).
    private func insert(_ h: UInt64, _ time: EpochMillis, empty: Int, tombstone tomb: Int) {
        var slot: Int
        if tomb >= 0 {
            slot = tomb
        } else if used + 1 > maxUsed {
            rebuild(capacity: Self.capacity(forLive: liveKeys + 1))
            slot = find(h).slot // no tombstones after a rebuild
            used += 1
        } else {
            slot = empty
            used += 1
        }
        table[slot] = Slot(hash: h, time: time)
        liveKeys += 1
        enqueue(slot, time)
        if liveKeys > maxLiveKeys { evictOldest() }
    }

    // MARK: - Forgetting

    /// Drops every key whose last counted time + `window` ≤ `watermark`, oldest first, stopping at
    /// the first queued key still inside its window. Returns how many keys it dropped.
    @discardableResult
    public func expire(before watermark: EpochMillis) -> Int {
        let (limit, overflow) = watermark.subtractingReportingOverflow(window)
        if overflow { return 0 } // watermark - window below Int64.min: nothing is that old
        var dropped = 0
        while ringCount > 0 {
            let e = ring[ringHead]
            let slot = Int(truncatingIfNeeded: e >> 32)
            if isCurrent(e, slot) {
                if table[slot].time > limit { break }
                remove(slot)
                dropped += 1
            }
            popHead()
        }
        expired += dropped
        // Give memory back once most of it is unused.
        if tableCapacity > Self.minimumTableCapacity, liveKeys * 5 < tableCapacity {
            rebuild(capacity: Self.capacity(forLive: liveKeys))
        }
        if ringCapacity > Self.minimumRingCapacity, ringCount * 4 < ringCapacity {
            resizeRing(ringCount + ringCount / 2 + 1)
        }
        return dropped
    }

    /// Evicts the key counted longest ago.
    private func evictOldest() {
        while ringCount > 0 {
            let e = ring[ringHead]
            let slot = Int(truncatingIfNeeded: e >> 32)
            popHead()
            if isCurrent(e, slot) {
                remove(slot)
                evictions += 1
                return
            }
        }
    }

    /// Whether queue entry `e` is the latest counted click of the key in `slot` (the slot holds a
    /// key whose time has the entry's low 32 bits). An entry can also match when the key was
    /// counted again exactly k·2³² ms (≈ 49.7 days) later; the key then leaves the queue early or
    /// late, which changes no verdict that a watermark allows.
    @inline(__always)
    private func isCurrent(_ e: UInt64, _ slot: Int, in t: UnsafeMutablePointer<Slot>? = nil) -> Bool {
        let s = (t ?? table)[slot]
        return s.hash > Self.tombstone && UInt32(truncatingIfNeeded: s.time) == UInt32(truncatingIfNeeded: e)
    }

    /// Deletes the key in `slot`.
    private func remove(_ slot: Int) {
        liveKeys -= 1
        var next = slot + 1
        if next == tableCapacity { next = 0 }
        guard table[next].hash == Self.empty else {
            table[slot].hash = Self.tombstone
            return
        }
        // No probe sequence crosses an empty slot, so this slot and the tombstones right before
        // it end no sequence that matters: they can become empty.
        table[slot].hash = Self.empty
        used -= 1
        var j = slot == 0 ? tableCapacity - 1 : slot - 1
        while table[j].hash == Self.tombstone {
            table[j].hash = Self.empty
            used -= 1
            j = j == 0 ? tableCapacity - 1 : j - 1
        }
    }

    // MARK: - Queue

    @inline(__always)
    private func enqueue(_ slot: Int, _ time: EpochMillis) {
        if ringCount == ringCapacity { makeRoomInRing() }
        var tail = ringHead + ringCount
        if tail >= ringCapacity { tail -= ringCapacity }
        ring[tail] = UInt64(truncatingIfNeeded: slot) << 32 | UInt64(UInt32(truncatingIfNeeded: time))
        ringCount += 1
    }

    @inline(__always)
    private func popHead() {
        ringHead += 1
        if ringHead == ringCapacity { ringHead = 0 }
        ringCount -= 1
    }

    /// The ring is full: drop stale entries in place when they are at least a quarter of it; if
    /// it is still full, move the entries to a ring half as large again.
    private func makeRoomInRing() {
        if ringCount - liveKeys >= ringCount / 4 { compactRing(into: nil, capacity: ringCapacity) }
        if ringCount == ringCapacity { resizeRing(ringCount + ringCount / 2 + 1) }
    }

    /// Moves the current entries to a new ring of `capacity` (at least `ringCount`).
    private func resizeRing(_ capacity: Int) {
        let c = max(Self.minimumRingCapacity, capacity)
        compactRing(into: .allocate(capacity: c), capacity: c)
    }

    /// Keeps only current queue entries (judged against `table`, by default the live one), in
    /// order, in `target` (a new ring of `capacity`) or in place when `target` is nil. `remap`,
    /// when given, moves each current key to a new table and returns the slot to store in the
    /// entry (nil to drop the entry).
    private func compactRing(into target: UnsafeMutablePointer<UInt64>?, capacity: Int,
                             table checked: UnsafeMutablePointer<Slot>? = nil,
                             remap: ((_ slot: Int) -> Int?)? = nil) {
        let out = target ?? ring
        var read = ringHead
        var write = target == nil ? ringHead : 0
        var kept = 0
        for _ in 0..<ringCount {
            let e = ring[read]
            read += 1
            if read == ringCapacity { read = 0 }
            let slot = Int(truncatingIfNeeded: e >> 32)
            guard isCurrent(e, slot, in: checked) else { continue }
            var entry = e
            if let remap {
                guard let newSlot = remap(slot) else { continue }
                entry = UInt64(truncatingIfNeeded: newSlot) << 32 | (e & 0xFFFF_FFFF)
            }
            out[write] = entry
            write += 1
            if write == capacity { write = 0 }
            kept += 1
        }
        if let target {
            ring.deallocate()
            ring = target
            ringCapacity = capacity
            ringHead = 0
        }
        ringCount = kept
    }

    // MARK: - Table

    static func maxUsed(_ capacity: Int) -> Int { capacity * 4 / 5 }

    /// The table capacity that holds `live` keys at 60% load.
    static func capacity(forLive live: Int) -> Int { max(minimumTableCapacity, live * 5 / 3 + 1) }

    private static func allocateTable(_ capacity: Int) -> UnsafeMutablePointer<Slot> {
        let t = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        t.initialize(repeating: Slot(hash: empty, time: 0), count: capacity)
        return t
    }

    /// Moves every live key to a fresh table of `capacity` slots (no tombstones), walking the
    /// queue so that its entries follow their keys; stale entries are dropped on the way.
    private func rebuild(capacity: Int) {
        let old = table
        let fresh = Self.allocateTable(capacity)
        var live = 0
        compactRing(into: nil, capacity: ringCapacity, table: old) { oldSlot in
            let s = old[oldSlot]
            let (found, slot, _) = Self.probe(s.hash, in: fresh, capacity: capacity)
            if found { return nil } // a second entry that looked current (see isCurrent)
            fresh[slot] = s
            live += 1
            return slot
        }
        old.deallocate()
        table = fresh
        tableCapacity = capacity
        used = live
        liveKeys = live
        maxUsed = Self.maxUsed(capacity)
    }

    // MARK: - Checkpoints

    /// Calls `body` with each live key and the time of its last counted click, oldest first (the
    /// eviction order). Feeding the pairs in this order to ``restore(_:lastCounted:)`` of a new
    /// window rebuilds the same state.
    public func forEach(_ body: (_ key: UInt64, _ lastCounted: EpochMillis) throws -> Void) rethrows {
        var i = ringHead
        for _ in 0..<ringCount {
            let e = ring[i]
            i += 1
            if i == ringCapacity { i = 0 }
            let slot = Int(truncatingIfNeeded: e >> 32)
            if isCurrent(e, slot) { try body(table[slot].hash, table[slot].time) }
        }
    }

    /// Remembers a counted click of `key` at `lastCounted` without deciding anything (for loading
    /// a checkpoint). A key already present keeps the later of the two times.
    public func restore(_ key: UInt64, lastCounted: EpochMillis) {
        let h = Self.stored(key)
        let (found, slot, tomb) = find(h)
        if found {
            if lastCounted > table[slot].time {
                table[slot].time = lastCounted
                enqueue(slot, lastCounted)
            }
            return
        }
        insert(h, lastCounted, empty: slot, tombstone: tomb)
    }
}
