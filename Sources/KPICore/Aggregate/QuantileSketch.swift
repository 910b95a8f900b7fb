import Foundation

/// A mergeable quantile sketch with bounded relative error (DDSketch, Masson et al., VLDB 2019)
/// for non-negative values such as latencies.
///
/// A positive value `x` falls in the bucket of key `k = ⌈log_γ x⌉`, that is `γ^(k-1) < x ≤ γ^k`,
/// with `γ = (1 + α) / (1 − α)`; the bucket answers `2γ^k / (γ + 1)`, which is within `α` of every
/// value of the bucket relative to it. Zero has its own count. The count per bucket is exact, so a
/// quantile is within `α` of the exact one at the same rank: kpid uses ``relativeAccuracy``
/// α = 0.0099, so every quantile is within 1% even with rounding at bucket edges.
///
/// Quantile definition: `quantile(q)` is the value at rank `max(1, ⌈q·n⌉)` of the `n` values in
/// ascending order (the smallest value with at least `q·n` values at or below it), clamped to the
/// exact minimum and maximum; the first and last ranks answer the exact minimum and maximum.
///
/// Memory: the counts of the used key range, 8 bytes per bucket in one contiguous array that
/// grows by doubling, plus a 72-byte header. A range of 1:1000 (1 ms to 1 s) is about 350
/// buckets (≈ 2.8 KiB used, 4 KiB allocated). At most ``maxBuckets`` (2048, 16 KiB) are kept:
/// when a wider range is seen, the lowest buckets are collapsed into one (as DDSketch does), so
/// only quantiles that fall below γ^2048 ≈ 4·10^17 times smaller than the largest value lose
/// their bound. Inserting costs one `log` and an increment; it allocates only when the range
/// grows.
///
/// Ownership: a plain value over manually managed storage (a handle: copies share the storage),
/// so the cells holding one stay plain values and the engine's hot path does no reference
/// counting. Exactly one owner calls ``release()`` once, after which neither it nor any copy may
/// be used. Single-threaded.
struct QuantileSketch {
    /// α: the largest relative error of a quantile.
    static let relativeAccuracy = 0.0099
    static let gamma = (1 + relativeAccuracy) / (1 - relativeAccuracy)
    static let inverseLogGamma = 1 / log(gamma)
    /// Most buckets kept; beyond it the lowest collapse into one.
    static let maxBuckets: Int32 = 2048

    struct Store {
        var counts: UnsafeMutablePointer<UInt64>?
        var capacity: Int32 = 0
        /// Key of `counts[0]`.
        var offset: Int32 = 0
        /// Used key range; `minKey > maxKey` while no positive value was seen.
        var minKey: Int32 = .max
        var maxKey: Int32 = .min
        /// Keys below this were collapsed into it (`Int32.min` when nothing was collapsed).
        var floorKey: Int32 = .min
        var count: UInt64 = 0
        var zeroCount: UInt64 = 0
        var min: Double = .infinity
        var max: Double = -.infinity
    }

    let store: UnsafeMutablePointer<Store>

    /// An empty sketch; allocates the 72-byte header (the buckets come with the first positive value).
    init() {
        store = .allocate(capacity: 1)
        store.initialize(to: Store())
    }

    /// Frees the storage.
    func release() {
        store.pointee.counts?.deallocate()
        store.deinitialize(count: 1)
        store.deallocate()
    }

    /// Values inserted.
    var count: UInt64 { store.pointee.count }
    /// Exact smallest and largest values (±infinity while empty).
    var min: Double { store.pointee.min }
    var max: Double { store.pointee.max }
    /// Buckets allocated, for memory reports.
    var allocatedBuckets: Int { Int(store.pointee.capacity) }
    /// True when buckets were collapsed because the range exceeded ``maxBuckets``.
    var isCollapsed: Bool { store.pointee.floorKey != .min }

    /// The bucket key of a positive finite value.
    @inline(__always)
    static func key(_ x: Double) -> Int32 {
        let k = (log(x) * inverseLogGamma).rounded(.up)
        // Subnormals reach about -36,000; anything beyond Int32 is impossible for finite doubles.
        return Int32(k)
    }

    /// The value a bucket answers: within α of every value in `(γ^(k-1), γ^k]`.
    static func representative(_ k: Int32) -> Double {
        2 * pow(gamma, Double(k)) / (gamma + 1)
    }

    /// Adds a finite value ≥ 0 (the engine rejects others before; they are ignored here).
    @inline(__always)
    func insert(_ x: Double) {
        insert(x, times: 1)
    }

    @inline(__always)
    private func insert(_ x: Double, times n: UInt64) {
        guard x >= 0, x.isFinite else { return }
        let s = store
        s.pointee.count &+= n
        if x < s.pointee.min { s.pointee.min = x }
        if x > s.pointee.max { s.pointee.max = x }
        if x == 0 {
            s.pointee.zeroCount &+= n
            return
        }
        add(key: Self.key(x), n)
    }

    @inline(__always)
    private func add(key k0: Int32, _ n: UInt64) {
        let s = store
        let k = Swift.max(k0, s.pointee.floorKey)
        let i = Int(k) &- Int(s.pointee.offset)
        if s.pointee.counts == nil || i < 0 || i >= Int(s.pointee.capacity) {
            addSlow(key: k, n)
            return
        }
        s.pointee.counts![i] &+= n
        if k < s.pointee.minKey { s.pointee.minKey = k }
        if k > s.pointee.maxKey { s.pointee.maxKey = k }
    }

    /// Grows the array to cover `k`, or collapses the lowest buckets when the range would exceed
    /// ``maxBuckets``.
    private func addSlow(key k: Int32, _ n: UInt64) {
        let s = store
        let empty = s.pointee.minKey > s.pointee.maxKey
        var lo = empty ? k : Swift.min(s.pointee.minKey, k)
        let hi = empty ? k : Swift.max(s.pointee.maxKey, k)
        var target = k
        if Int(hi) - Int(lo) + 1 > Int(Self.maxBuckets) {
            // Collapse: keep the top maxBuckets keys; everything below goes to the new floor.
            lo = hi - Self.maxBuckets + 1
            s.pointee.floorKey = lo
            target = Swift.max(k, lo)
        }
        let span = Int(hi) - Int(lo) + 1
        var cap = Swift.max(Int(s.pointee.capacity), 32)
        while cap < span { cap *= 2 }
        cap = Swift.min(cap, Int(Self.maxBuckets))
        // Put the slack on the side that grew.
        let newOffset: Int32
        if empty {
            newOffset = k - Int32(cap / 2)
        } else if k >= s.pointee.maxKey {
            newOffset = lo
        } else {
            newOffset = Int32(Swift.max(Int(hi) - cap + 1, Int(Int32.min / 2)))
        }
        let fresh = UnsafeMutablePointer<UInt64>.allocate(capacity: cap)
        fresh.initialize(repeating: 0, count: cap)
        if let old = s.pointee.counts, !empty {
            for key in s.pointee.minKey...s.pointee.maxKey {
                let c = old[Int(key) - Int(s.pointee.offset)]
                if c == 0 { continue }
                let dest = Swift.max(key, lo)
                fresh[Int(dest) - Int(newOffset)] &+= c
            }
        }
        s.pointee.counts?.deallocate()
        s.pointee.counts = fresh
        s.pointee.capacity = Int32(cap)
        s.pointee.offset = newOffset
        s.pointee.minKey = empty ? target : Swift.max(Swift.min(s.pointee.minKey, target), lo)
        s.pointee.maxKey = hi
        fresh[Int(target) - Int(newOffset)] &+= n
    }

    /// Adds every value of `other` (the union of the two multisets); `other` is left as it is.
    func merge(_ other: QuantileSketch) {
        let o = other.store.pointee
        guard o.count > 0 else { return }
        let s = store
        s.pointee.count &+= o.count
        s.pointee.zeroCount &+= o.zeroCount
        if o.min < s.pointee.min { s.pointee.min = o.min }
        if o.max > s.pointee.max { s.pointee.max = o.max }
        if o.floorKey > s.pointee.floorKey {
            // The other side is coarse below its floor: fold ours there too, so that no bucket
            // claims a precision the merged sketch no longer has.
            let floor = o.floorKey
            s.pointee.floorKey = floor
            if s.pointee.minKey < floor, s.pointee.minKey <= s.pointee.maxKey {
                let top = Swift.min(floor - 1, s.pointee.maxKey)
                var moved: UInt64 = 0
                for key in s.pointee.minKey...top {
                    let i = Int(key) - Int(s.pointee.offset)
                    moved &+= s.pointee.counts![i]
                    s.pointee.counts![i] = 0
                }
                s.pointee.minKey = top + 1
                if moved > 0 { add(key: floor, moved) }
            }
        }
        guard let counts = o.counts, o.minKey <= o.maxKey else { return }
        for key in o.minKey...o.maxKey {
            let c = counts[Int(key) - Int(o.offset)]
            if c != 0 { add(key: key, c) }
        }
    }

    /// `max(1, ⌈q·n⌉)`, where a product `q·n` (computed in double precision) within a relative
    /// 10⁻¹² of an integer counts as that integer, so that `0.07 × 100` is rank 7 and not 8.
    static func rank(_ q: Double, of n: UInt64) -> UInt64 {
        let x = q * Double(n)
        return Swift.max(1, UInt64(Swift.max(0, (x - x * 1e-12).rounded(.up))))
    }

    /// The value at rank `max(1, ⌈q·n⌉)` (see the type's documentation), or nil while empty.
    /// `q` is in `(0, 1]`.
    func quantile(_ q: Double) -> Double? {
        let s = store.pointee
        guard s.count > 0 else { return nil }
        let rank = Self.rank(q, of: s.count)
        if rank <= s.zeroCount { return 0 }
        // The extremes are kept exactly.
        if rank == s.count { return s.max }
        if rank == 1 { return s.min }
        var seen = s.zeroCount
        if let counts = s.counts, s.minKey <= s.maxKey {
            for key in s.minKey...s.maxKey {
                seen &+= counts[Int(key) - Int(s.offset)]
                if seen >= rank {
                    return Swift.min(Swift.max(Self.representative(key), s.min), s.max)
                }
            }
        }
        return s.max
    }
}
