/// An open-addressing index from precomputed 64-bit hashes to dense entry numbers (`Int32`),
/// for the engine's hot lookups (label sets, cells).
///
/// The caller computes the hash (well mixed, e.g. with ``ValueHash``) and keeps the keys itself:
/// ``find(_:where:)`` calls back to verify a candidate entry, so different keys never merge even
/// when their hashes collide. Linear probing over a power-of-two table kept at most half full;
/// removal shifts the following entries back (no tombstones), so lookups stay short however
/// many entries come and go.
///
/// Costs: 12 bytes per slot, 24–48 bytes per entry. A lookup masks the hash to a slot and usually
/// takes one or two probes and one verification call; no hashing of keys, no reference counting.
/// Allocates only when it grows (doubling, at half load) or shrinks back on ``removeAll()``.
/// Single-threaded, like the engine that owns it.
final class HashIndex {
    private var hashes: UnsafeMutablePointer<UInt64>
    /// Entry per slot; -1 marks an empty slot.
    private var entries: UnsafeMutablePointer<Int32>
    private var mask: Int
    /// Number of entries stored.
    private(set) var count = 0

    /// Creates an empty index with room for `capacity` slots (rounded up to a power of two ≥ 16).
    init(capacity: Int = 16) {
        var n = 16
        while n < capacity { n <<= 1 }
        mask = n - 1
        hashes = .allocate(capacity: n)
        entries = .allocate(capacity: n)
        entries.initialize(repeating: -1, count: n)
        hashes.initialize(repeating: 0, count: n)
    }

    deinit {
        hashes.deallocate()
        entries.deallocate()
    }

    /// The entry stored under `hash` for which `matches` returns true, or -1.
    @inline(__always)
    func find(_ hash: UInt64, where matches: (Int32) -> Bool) -> Int32 {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let e = entries[i]
            if e < 0 { return -1 }
            if hashes[i] == hash && matches(e) { return e }
            i = (i + 1) & mask
        }
    }

    /// Stores `entry` (≥ 0) under `hash`. The caller makes sure the key is not present yet.
    func insert(_ hash: UInt64, _ entry: Int32) {
        precondition(entry >= 0, "HashIndex entries are non-negative")
        if (count + 1) * 2 > mask + 1 { resize(to: (mask + 1) * 2) }
        place(hash, entry)
        count += 1
    }

    /// Removes `entry` stored under `hash`; does nothing when it is not there.
    func remove(_ hash: UInt64, _ entry: Int32) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let e = entries[i]
            if e < 0 { return }
            if e == entry && hashes[i] == hash { break }
            i = (i + 1) & mask
        }
        // Backward-shift deletion: move every following entry of the run whose home slot is not
        // between the hole and itself into the hole.
        var hole = i
        var j = (i + 1) & mask
        while entries[j] >= 0 {
            let home = Int(truncatingIfNeeded: hashes[j]) & mask
            // Distance from home to j versus from hole to j, on the ring.
            if (j &- home) & mask >= (j &- hole) & mask {
                entries[hole] = entries[j]
                hashes[hole] = hashes[j]
                hole = j
            }
            j = (j + 1) & mask
        }
        entries[hole] = -1
        count -= 1
    }

    /// Empties the index, keeping at most `keepingCapacity` slots.
    func removeAll(keepingCapacity: Int = 16) {
        if mask + 1 > max(16, keepingCapacity) {
            hashes.deallocate()
            entries.deallocate()
            var n = 16
            while n < keepingCapacity { n <<= 1 }
            mask = n - 1
            hashes = .allocate(capacity: n)
            entries = .allocate(capacity: n)
            hashes.initialize(repeating: 0, count: n)
        }
        entries.initialize(repeating: -1, count: mask + 1)
        count = 0
    }

    @inline(__always)
    private func place(_ hash: UInt64, _ entry: Int32) {
        var i = Int(truncatingIfNeeded: hash) & mask
        while entries[i] >= 0 { i = (i + 1) & mask }
        entries[i] = entry
        hashes[i] = hash
    }

    private func resize(to n: Int) {
        let oldHashes = hashes, oldEntries = entries, oldSize = mask + 1
        mask = n - 1
        hashes = .allocate(capacity: n)
        entries = .allocate(capacity: n)
        hashes.initialize(repeating: 0, count: n)
        entries.initialize(repeating: -1, count: n)
        for i in 0..<oldSize where oldEntries[i] >= 0 { place(oldHashes[i], oldEntries[i]) }
        oldHashes.deallocate()
        oldEntries.deallocate()
    }
}
