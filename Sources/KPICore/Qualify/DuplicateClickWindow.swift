import CPrefetch

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
///   duplicate that is not one. (Hash 0 marks an empty slot, so key 0 is stored as another fixed
///   value; that adds nothing measurable to the chance.)
///
/// ## State, expiry and the cap
///
/// Each live key costs one 16-byte slot (hash, last counted time) in an open-addressing table
/// with linear probing, and one 12-byte entry (hash, low 32 bits of the time) in a FIFO queue in
/// the order in which clicks were counted. There are no per-key objects and no allocation per
/// click; memory is allocated only when the table (×4/3) or the queue (×3/2) grows or shrinks.
/// The table grows at 80% load to 60%, and shrinks when the load falls under 20%.
/// ``residentBytes`` counts both capacities: while keys are added that is 20–27 B (table) +
/// 12–18 B (queue) = 32–45 bytes per live key (up to about 51 if a quarter of the queue is stale
/// entries of keys counted again); at 10 million keys it is 40.7 B, and the resident set grows by
/// 35–40 B per key (Benchmarks, target `Dedupe`).
///
/// - ``expire(before:)`` drops keys whose last counted time + `window` ≤ the watermark: they can no
///   longer make a click at or after the watermark a duplicate. It pops the queue from its head
///   and stops at the first live key that is still inside its window, so a flush costs the number
///   of keys it expires (one probe each), never a scan of the table. Keys are queued in arrival
///   order, so a key that arrived late (with an older time) may be expired a little after keys
///   queued before it. Once a key has expired, a click *before* the watermark is counted whatever
///   came before it: the caller is expected to pass a watermark below which it no longer accepts
///   clicks, and then expiry never changes a verdict.
/// - When a new key would exceed `maxLiveKeys`, the key counted longest ago (by arrival) is evicted
///   first and ``evictions`` grows. An evicted key behaves like an expired one.
/// - A key counted again gets a new queue entry; the old one is stale (its time no longer matches
///   the table's) and is skipped when it reaches the head, or dropped in bulk when the queue is
///   full and at least a quarter of it is stale. A stale entry also looks current if the key was counted again exactly k·2³² ms
///   (≈ 49.7 days) later; the key then leaves early or late, which changes no verdict that a
///   watermark allows.
///
/// Deletion shifts the following entries of the probe run back (no tombstones), so lookups stay
/// short and the table is never rebuilt only to clean up: rebuilds happen to grow or to shrink.
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

    /// One table slot: the stored key hash (0 when empty) and the event time of the key's last
    /// counted click.
    struct Slot {
        var hash: UInt64
        var time: Int64
    }

    static let minimumTableCapacity = 64
    static let minimumQueueCapacity = 64
    /// What key 0 is stored as, since 0 marks an empty slot.
    static let zeroKey: UInt64 = 0x5C9E_43A1_D2B7_F60B

    private var table: UnsafeMutablePointer<Slot>
    private var tableCapacity: Int
    /// Grow when `liveKeys` would exceed this (80% of the capacity).
    private var maxLoad: Int

    /// The queue of counted clicks, a ring in two arrays: key hash and low 32 bits of the time.
    private var queueHash: UnsafeMutablePointer<UInt64>
    private var queueTime: UnsafeMutablePointer<UInt32>
    private var queueCapacity: Int
    private var queueHead = 0
    private var queueCount = 0

    /// - Parameters:
    ///   - window: milliseconds within which a repeated click is a duplicate (default 5 minutes);
    ///     negative values are taken as 0 (nothing is a duplicate).
    ///   - maxLiveKeys: the cap on remembered keys, at least 1 (at most 2³¹).
    public init(window: Int64 = 300_000, maxLiveKeys: Int = 10_000_000) {
        self.window = max(0, window)
        self.maxLiveKeys = min(max(1, maxLiveKeys), 1 << 31)
        tableCapacity = Self.minimumTableCapacity
        table = Self.allocateTable(tableCapacity)
        maxLoad = Self.maxLoad(tableCapacity)
        queueCapacity = Self.minimumQueueCapacity
        queueHash = .allocate(capacity: queueCapacity)
        queueTime = .allocate(capacity: queueCapacity)
    }

    deinit {
        table.deallocate()
        queueHash.deallocate()
        queueTime.deallocate()
    }

    /// Bytes held by the table and the queue (their capacities, not only the live part).
    public var residentBytes: Int {
        tableCapacity * MemoryLayout<Slot>.stride
            + queueCapacity * (MemoryLayout<UInt64>.stride + MemoryLayout<UInt32>.stride)
    }

    // MARK: - Deciding

    /// Decides whether the click of `key` at `time` is a duplicate, and remembers it when counted.
    ///
    /// Costs one probe run in the table (usually one cache line); allocates only when the table
    /// or the queue grows.
    public func check(_ key: UInt64, at time: EpochMillis) -> Verdict {
        let h = Self.stored(key)
        return decide(h, at: time, find(h))
    }

    /// Prefetches the home slot of `key` ahead of ``check(_:at:)``, so that the probe's likely
    /// cache miss overlaps other work. A hint: no state changes.
    @inline(__always)
    public func prefetch(_ key: UInt64) {
        kpid_prefetch(table + Self.home(Self.stored(key), tableCapacity))
    }

    /// The verdict on the click of stored hash `h` at `time` whose probe ended at `probe`, and
    /// the state change of a counted click.
    @inline(__always)
    private func decide(_ h: UInt64, at time: EpochMillis, _ probe: (found: Bool, slot: Int)) -> Verdict {
        let (found, slot) = probe
        if found {
            let last = table[slot].time
            if Self.distance(time, last) < UInt64(window) { return .duplicate }
            if time > last {
                table[slot].time = time
                enqueue(h, time)
                if recordsChanges { recordChange(h, time) }
            }
            return .counted
        }
        insert(h, time, at: slot)
        if recordsChanges { recordChange(h, time) }
        return .counted
    }

    /// `|a − b|` without overflow, for any two times.
    @inline(__always)
    static func distance(_ a: Int64, _ b: Int64) -> UInt64 {
        a >= b ? UInt64(bitPattern: a &- b) : UInt64(bitPattern: b &- a)
    }

    @inline(__always)
    static func stored(_ key: UInt64) -> UInt64 { key == 0 ? zeroKey : key }

    /// The home slot of `h`: `h · capacity / 2⁶⁴` (multiply-shift, so any capacity works).
    @inline(__always)
    private static func home(_ h: UInt64, _ capacity: Int) -> Int {
        Int(truncatingIfNeeded: h.multipliedFullWidth(by: UInt64(capacity)).high)
    }

    /// The slot of `t` holding `h` (`found`), else the empty slot that ends its probe run.
    @inline(__always)
    private static func probe(_ h: UInt64, in t: UnsafeMutablePointer<Slot>, capacity: Int) -> (found: Bool, slot: Int) {
        var i = home(h, capacity)
        var s = t[i].hash
        while s != h && s != 0 {
            i += 1
            if i == capacity { i = 0 }
            s = t[i].hash
        }
        return (s == h, i)
    }

    @inline(__always)
    private func find(_ h: UInt64) -> (found: Bool, slot: Int) {
        Self.probe(h, in: table, capacity: tableCapacity)
    }

    /// Adds a key known to be absent, whose probe run ends at the empty `slot`.
    private func insert(_ h: UInt64, _ time: EpochMillis, at slot: Int) {
        var slot = slot
        if liveKeys + 1 > maxLoad {
            rebuild(capacity: Self.capacity(forLive: liveKeys + 1))
            slot = find(h).slot
        }
        table[slot] = Slot(hash: h, time: time)
        liveKeys += 1
        enqueue(h, time)
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
        while queueCount > 0 {
            if let slot = currentSlot(queueHead) {
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
        if queueCapacity > Self.minimumQueueCapacity, queueCount * 4 < queueCapacity {
            resizeQueue(queueCount + queueCount / 2 + 1)
        }
        return dropped
    }

    /// Evicts the key counted longest ago.
    private func evictOldest() {
        while queueCount > 0 {
            let slot = currentSlot(queueHead)
            popHead()
            if let slot {
                remove(slot)
                evictions += 1
                return
            }
        }
    }

    /// The table slot of the key of queue entry `q` when the entry is the key's latest counted
    /// click (the stored time has the entry's low 32 bits), else nil (a stale entry).
    @inline(__always)
    private func currentSlot(_ q: Int) -> Int? {
        let (found, slot) = find(queueHash[q])
        guard found, UInt32(truncatingIfNeeded: table[slot].time) == queueTime[q] else { return nil }
        return slot
    }

    /// Deletes the key in `slot`, moving back the later entries of its probe run that may sit
    /// there (each entry stays at or after its home slot), so no run has a hole.
    private func remove(_ slot: Int) {
        liveKeys -= 1
        var hole = slot
        var j = slot
        while true {
            j += 1
            if j == tableCapacity { j = 0 }
            let h = table[j].hash
            if h == 0 { break }
            let home = Self.home(h, tableCapacity)
            // Entry j may move to the hole when the hole lies in [home, j) cyclically.
            let fromHome = j >= home ? j - home : j - home + tableCapacity
            let fromHole = j >= hole ? j - hole : j - hole + tableCapacity
            if fromHome >= fromHole {
                table[hole] = table[j]
                hole = j
            }
        }
        table[hole].hash = 0
    }

    // MARK: - Queue

    @inline(__always)
    private func enqueue(_ h: UInt64, _ time: EpochMillis) {
        if queueCount == queueCapacity { makeRoomInQueue() }
        var tail = queueHead + queueCount
        if tail >= queueCapacity { tail -= queueCapacity }
        queueHash[tail] = h
        queueTime[tail] = UInt32(truncatingIfNeeded: time)
        queueCount += 1
    }

    @inline(__always)
    private func popHead() {
        queueHead += 1
        if queueHead == queueCapacity { queueHead = 0 }
        queueCount -= 1
    }

    /// The queue is full: drop stale entries in place when they are at least a quarter of it;
    /// if it is still full, copy the entries to a queue half as large again.
    private func makeRoomInQueue() {
        if queueCount - liveKeys >= queueCount / 4 { dropStaleEntries() }
        if queueCount == queueCapacity { resizeQueue(queueCount + queueCount / 2 + 1) }
    }

    /// Copies the entries, stale ones included, in order to new arrays of `capacity` (at least
    /// `queueCount`): a sequential copy, no table lookups.
    private func resizeQueue(_ capacity: Int) {
        let capacity = max(Self.minimumQueueCapacity, capacity)
        let newHash = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity)
        let newTime = UnsafeMutablePointer<UInt32>.allocate(capacity: capacity)
        let first = min(queueCount, queueCapacity - queueHead)
        newHash.update(from: queueHash + queueHead, count: first)
        newTime.update(from: queueTime + queueHead, count: first)
        newHash.advanced(by: first).update(from: queueHash, count: queueCount - first)
        newTime.advanced(by: first).update(from: queueTime, count: queueCount - first)
        queueHash.deallocate()
        queueTime.deallocate()
        queueHash = newHash
        queueTime = newTime
        queueCapacity = capacity
        queueHead = 0
    }

    /// Keeps only the current entries, in order, in place (one table probe per entry).
    private func dropStaleEntries() {
        var read = queueHead
        var write = queueHead
        var kept = 0
        for _ in 0..<queueCount {
            if currentSlot(read) != nil {
                queueHash[write] = queueHash[read]
                queueTime[write] = queueTime[read]
                write += 1
                if write == queueCapacity { write = 0 }
                kept += 1
            }
            read += 1
            if read == queueCapacity { read = 0 }
        }
        queueCount = kept
    }

    // MARK: - Table

    static func maxLoad(_ capacity: Int) -> Int { capacity * 4 / 5 }

    /// The table capacity that holds `live` keys at 60% load.
    static func capacity(forLive live: Int) -> Int { max(minimumTableCapacity, live * 5 / 3 + 1) }

    private static func allocateTable(_ capacity: Int) -> UnsafeMutablePointer<Slot> {
        let t = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        t.initialize(repeating: Slot(hash: 0, time: 0), count: capacity)
        return t
    }

    /// Moves every key to a fresh table of `capacity` slots (queue entries hold hashes, not
    /// slots, so the queue is untouched).
    private func rebuild(capacity: Int) {
        let fresh = Self.allocateTable(capacity)
        for i in 0..<tableCapacity where table[i].hash != 0 {
            let s = table[i]
            // Keys are distinct: the probe ends at an empty slot.
            fresh[Self.probe(s.hash, in: fresh, capacity: capacity).slot] = s
        }
        table.deallocate()
        table = fresh
        tableCapacity = capacity
        maxLoad = Self.maxLoad(capacity)
    }

    // MARK: - Checkpoints

    /// When true, every counted click's key and time is logged for the next checkpoint
    /// (``takeChanges()``): one append per counted click (amortised, no allocation once the log
    /// has grown to a flush's worth), nothing for duplicates.
    public var recordsChanges = false
    private var changeKeys: [UInt64] = []
    private var changeTimes: [EpochMillis] = []

    @inline(__always)
    private func recordChange(_ h: UInt64, _ time: EpochMillis) {
        changeKeys.append(h)
        changeTimes.append(time)
    }

    /// The keys (as stored) and times counted since the previous call, in order; a key counted
    /// twice is listed twice, the later time last.
    public func takeChanges() -> (keys: [UInt64], times: [EpochMillis]) {
        defer {
            changeKeys.removeAll(keepingCapacity: true)
            changeTimes.removeAll(keepingCapacity: true)
        }
        return (changeKeys, changeTimes)
    }

    /// Calls `body` with each live key and the time of its last counted click, oldest first (the
    /// eviction order). Feeding the pairs in this order to ``restore(_:lastCounted:)`` of a new
    /// window rebuilds the same state. (In the 2⁻³² case described above a key can be listed
    /// twice; ``restore(_:lastCounted:)`` takes that in its stride.)
    public func forEach(_ body: (_ key: UInt64, _ lastCounted: EpochMillis) throws -> Void) rethrows {
        var q = queueHead
        for _ in 0..<queueCount {
            if let slot = currentSlot(q) { try body(table[slot].hash, table[slot].time) }
            q += 1
            if q == queueCapacity { q = 0 }
        }
    }

    /// Remembers a counted click of `key` at `lastCounted` without deciding anything (for loading
    /// a checkpoint). A key already present keeps the later of the two times.
    public func restore(_ key: UInt64, lastCounted: EpochMillis) {
        let h = Self.stored(key)
        let (found, slot) = find(h)
        if found {
            if lastCounted > table[slot].time {
                table[slot].time = lastCounted
                enqueue(h, lastCounted)
            }
            return
        }
        insert(h, lastCounted, at: slot)
    }
}
