import Benchmark
import Foundation
import KPICore

// Issue 3, "Duplicate clicks": dedupe insert and lookup at 10 million live keys, and resident
// bytes per key, for `DuplicateClickWindow` and, in the same run, a baseline doing the same work
// with a Swift `[UInt64: Int64]` Dictionary plus a FIFO ring of keys for oldest-first eviction.
//
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target Dedupe
//
// Each throughput benchmark starts (in its untimed setup) from 10M live keys with the cap at 10M,
// then runs 1M operations per iteration (figures are per operation, `scalingFactor: .mega`):
// - "lookup": a random live key clicked again within the window (a duplicate);
// - "mixed": half lookups, half new keys, each new key evicting the oldest (the table stays at 10M).
// The memory benchmarks build 10M keys from empty and report the RSS delta (/proc/self/statm)
// and the structure's own computed size, per key, as custom metrics.

let liveKeys = 10_000_000
let t0: EpochMillis = 1_763_856_000_000
let window: Int64 = 300_000

/// The key of click number `id`: a well-mixed 64-bit hash, as the pipeline computes one.
@inline(__always)
func keyOf(_ id: Int) -> UInt64 {
    var z = UInt64(truncatingIfNeeded: id) &+ 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// A small xorshift generator for choosing operations (the same stream for both structures).
struct OpRandom {
    var s: UInt64 = 0x2545_F491_4F6C_DD1D
    @inline(__always) mutating func next() -> UInt64 {
        s ^= s << 13
        s ^= s >> 7
        s ^= s << 17
        return s
    }
}

/// The baseline: the same rule with a Dictionary, and a FIFO ring of keys for eviction.
final class DictionaryDedupe {
    var last: [UInt64: Int64] = [:]
    var fifo: [UInt64]
    var head = 0
    var count = 0
    let cap: Int

    init(cap: Int) {
        self.cap = cap
        fifo = [UInt64](repeating: 0, count: cap + 1)
    }

    @inline(__always)
    func check(_ key: UInt64, at t: EpochMillis) -> Bool {
        if let l = last[key] {
            if abs(t - l) < window { return false }
            if t <= l { return true }
            last[key] = t // a counted-again key; not in this benchmark's stream
            return true
        }
        last[key] = t
        var tail = head + count
        if tail >= fifo.count { tail -= fifo.count }
        fifo[tail] = key
        count += 1
        if last.count > cap {
            last[fifo[head]] = nil
            head += 1
            if head == fifo.count { head = 0 }
            count -= 1
        }
        return true
    }

    /// Bytes of the dictionary's storage (8-byte keys and values, one metadata bit per bucket)
    /// plus the ring.
    var computedBytes: Int {
        let buckets = last.capacity == 0 ? 0 : (last.capacity * 4 + 2) / 3 // capacity is 3/4 of the buckets
        var b = 1
        while b < buckets { b <<= 1 }
        return b * 16 + b / 8 + fifo.capacity * 8
    }
}

/// Resident bytes of this process.
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Next id to insert; ids `next - liveKeys ..< next` are live.
final class State<T> {
    let table: T
    var next = liveKeys
    var rng = OpRandom()
    init(_ table: T) { self.table = table }
}

func filledWindow() -> State<DuplicateClickWindow> {
    let w = DuplicateClickWindow(window: window, maxLiveKeys: liveKeys)
    for id in 0..<liveKeys { _ = w.check(keyOf(id), at: t0) }
    return State(w)
}

func filledDictionary() -> State<DictionaryDedupe> {
    let d = DictionaryDedupe(cap: liveKeys)
    for id in 0..<liveKeys { _ = d.check(keyOf(id), at: t0) }
    return State(d)
}

/// 100k click (referrer, url) pairs in the shape of the shipped example: a quarter reloads of the
/// same page written differently, the rest outbound clicks from a search page. The bytes are
/// owned by this object (as a decoder owns the bytes its fields point into).
final class URLPairs {
    private(set) var pairs: [(UnsafeRawBufferPointer, UnsafeRawBufferPointer)] = []

    init() {
        func bytes(_ s: String) -> UnsafeRawBufferPointer {
            let u = Array(s.utf8)
            let p = UnsafeMutableRawBufferPointer.allocate(byteCount: u.count, alignment: 1)
            u.withUnsafeBytes { p.copyMemory(from: $0) }
            return UnsafeRawBufferPointer(p)
        }
        for i in 0..<100_000 {
            let url = "https://shop\(i % 7).example/p/\(i % 5000)?ref=961tech&utm_source=wqoc"
            let referrer = i % 4 == 0
                ? "HTTPS://Shop\(i % 7).example:443/p/\(i % 5000)/?ref=961tech&utm_source=wqoc#top"
                : "https://961tech.example/search?q=rtx+40\(i % 90)"
            pairs.append((bytes(referrer), bytes(url)))
        }
    }

    deinit {
        for (r, u) in pairs {
            r.deallocate()
            u.deallocate()
        }
    }
}

enum Custom {
    static let rssPerKey = BenchmarkMetric.custom("RSS bytes per key", polarity: .prefersSmaller)
    static let computedPerKey = BenchmarkMetric.custom("computed bytes per key", polarity: .prefersSmaller)
    /// The whole RSS delta, for a per-key figure with decimals (divide by 10M).
    static let rssDelta = BenchmarkMetric.custom("RSS delta (bytes)", polarity: .prefersSmaller)
}

let benchmarks: @Sendable () -> Void = {
    let ops: BenchmarkScalingFactor = .mega
    let speed = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .instructions, .mallocCountTotal],
        scalingFactor: ops,
        maxDuration: .seconds(10),
        maxIterations: 8
    )
    let urls = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .instructions, .mallocCountTotal],
        scalingFactor: .one,
        maxDuration: .seconds(3),
        maxIterations: 30
    )
    let memory = Benchmark.Configuration(
        metrics: [.wallClock, .peakMemoryResident, Custom.rssPerKey, Custom.rssDelta, Custom.computedPerKey],
        scalingFactor: .one,
        maxDuration: .seconds(60),
        maxIterations: 2
    )

    // MARK: lookups of live keys (duplicates)

    Benchmark("lookup at 10M keys: Dictionary (baseline)", configuration: speed) { benchmark, state in
        var dup = 0
        for _ in benchmark.scaledIterations {
            let id = state.next - 1 - Int(state.rng.next() % UInt64(liveKeys))
            if !state.table.check(keyOf(id), at: t0 + 1) { dup &+= 1 }
        }
        precondition(dup == ops.rawValue)
    } setup: {
        filledDictionary()
    }

    Benchmark("lookup at 10M keys: DuplicateClickWindow", configuration: speed) { benchmark, state in
        var dup = 0
        for _ in benchmark.scaledIterations {
            let id = state.next - 1 - Int(state.rng.next() % UInt64(liveKeys))
            if state.table.check(keyOf(id), at: t0 + 1) == .duplicate { dup &+= 1 }
        }
        precondition(dup == ops.rawValue)
    } setup: {
        filledWindow()
    }

    // MARK: half lookups, half new keys evicting the oldest

    Benchmark("mixed at 10M keys: Dictionary (baseline)", configuration: speed) { benchmark, state in
        var counted = 0
        for _ in benchmark.scaledIterations {
            let r = state.rng.next()
            let id: Int
            if r & 1 == 0 {
                id = state.next - 1 - Int((r >> 1) % UInt64(liveKeys))
            } else {
                id = state.next
                state.next += 1
            }
            if state.table.check(keyOf(id), at: t0 + 1) { counted &+= 1 }
        }
        blackHole(counted)
        precondition(state.table.last.count == liveKeys)
    } setup: {
        filledDictionary()
    }

    Benchmark("mixed at 10M keys: DuplicateClickWindow", configuration: speed) { benchmark, state in
        var counted = 0
        for _ in benchmark.scaledIterations {
            let r = state.rng.next()
            let id: Int
            if r & 1 == 0 {
                id = state.next - 1 - Int((r >> 1) % UInt64(liveKeys))
            } else {
                id = state.next
                state.next += 1
            }
            if state.table.check(keyOf(id), at: t0 + 1) == .counted { counted &+= 1 }
        }
        blackHole(counted)
        precondition(state.table.liveKeys == liveKeys)
    } setup: {
        filledWindow()
    }

    // MARK: self-referrer check (URL normalisation), 100k (referrer, url) pairs per iteration

    Benchmark("self-referrer: byte equality (baseline)", configuration: urls) { benchmark, pairs in
        var same = 0
        for _ in benchmark.scaledIterations {
            for (r, u) in pairs.pairs where r.count == u.count && memcmp(r.baseAddress!, u.baseAddress!, r.count) == 0 {
                same &+= 1
            }
        }
        blackHole(same)
    } setup: {
        URLPairs()
    }

    Benchmark("self-referrer: SelfReferrerCheck", configuration: urls) { benchmark, pairs in
        var same = 0
        for _ in benchmark.scaledIterations {
            for (r, u) in pairs.pairs where URLNormalizer.sameResource(r, u) { same &+= 1 }
        }
        precondition(same == benchmark.scaledIterations.count * pairs.pairs.count / 4)
    } setup: {
        URLPairs()
    }

    // MARK: memory

    Benchmark("memory at 10M keys: Dictionary (baseline)", configuration: memory) { benchmark in
        let before = residentBytes()
        let d = DictionaryDedupe(cap: liveKeys)
        for id in 0..<liveKeys { _ = d.check(keyOf(id), at: t0) }
        let after = residentBytes()
        benchmark.measurement(Custom.rssPerKey, (after - before) / liveKeys)
        benchmark.measurement(Custom.rssDelta, after - before)
        benchmark.measurement(Custom.computedPerKey, d.computedBytes / liveKeys)
        blackHole(d)
    }

    Benchmark("memory at 10M keys: DuplicateClickWindow", configuration: memory) { benchmark in
        let before = residentBytes()
        let w = DuplicateClickWindow(window: window, maxLiveKeys: liveKeys)
        for id in 0..<liveKeys { _ = w.check(keyOf(id), at: t0) }
        let after = residentBytes()
        benchmark.measurement(Custom.rssPerKey, (after - before) / liveKeys)
        benchmark.measurement(Custom.rssDelta, after - before)
        benchmark.measurement(Custom.computedPerKey, w.residentBytes / liveKeys)
        blackHole(w)
    }
}
