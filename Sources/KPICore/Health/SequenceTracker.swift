/// Loss you can see: per-publisher sequence numbers (`src`, `seq`) turned into gap, duplicate and
/// reset counts. ZeroMQ PUB/SUB drops silently at the high-water mark; a publisher that numbers
/// its events makes every drop visible as a gap.
///
/// Rules, per `src`, against the largest `seq` seen so far (`last`):
/// - `seq == last + 1`: in order;
/// - `seq > last + 1`: a gap of `seq - last - 1` events (lost, or not decodable: a line rejected as
///   malformed cannot be read, so its number shows up as a gap too);
/// - `seq <= 1` while `last > 1`: a reset (the publisher restarted and numbers from 0 or 1 again);
/// - any other `seq <= last`: a duplicate (the same number again, or an older one).
/// The first event of a `src` sets `last`. `seq` must be a non-negative integral number below
/// 2⁵³; other values, and a `src` that is not a string, are ignored (counted as `invalid`).
///
/// Memory: one entry (hash, last seq, counts, name) per `src`, at most `maxSources`; events of
/// further sources are counted as `untracked`. A new `src` costs one String; a known one costs a
/// hash and a probe. Pure: no clock, no I/O.
public struct SequenceTracker: Sendable {
    /// Counts of one `src`.
    public struct Source: Sendable {
        public var name: String
        public var last: Int64
        public var events: Int64 = 0
        public var gaps: Int64 = 0
        public var duplicates: Int64 = 0
        public var resets: Int64 = 0
        var reported = (gaps: Int64(0), duplicates: Int64(0), resets: Int64(0))
        /// `last` as of the previous checkpoint.
        var checkpointed: Int64?
    }

    /// The event fields read: `src` (a string naming the publisher) and `seq` (its counter).
    public static let sourceField = "src"
    public static let sequenceField = "seq"

    public let maxSources: Int
    public private(set) var sources: [Source] = []
    private var index: [UInt64: Int32] = [:]
    /// Events with a `seq` from sources beyond ``maxSources``.
    public private(set) var untracked: Int64 = 0
    /// Events whose `src` or `seq` is present but unusable.
    public private(set) var invalid: Int64 = 0

    public init(maxSources: Int = 10_000) {
        self.maxSources = maxSources
    }

    /// Records one event's `src` and `seq` fields (either absent: nothing happens).
    @inline(__always)
    public mutating func record(src: FieldValue, seq: FieldValue) {
        if src.kind == .absent && seq.kind == .absent { return }
        guard src.kind == .string, seq.kind == .number,
              seq.number >= 0, seq.number < 9_007_199_254_740_992, seq.number.rounded(.towardZero) == seq.number
        else {
            invalid &+= 1
            return
        }
        let n = Int64(seq.number)
        let (found, h) = find(src.string)
        if let i = found {
            advance(i, n)
            return
        }
        guard sources.count < maxSources else {
            untracked &+= 1
            return
        }
        index[h] = Int32(sources.count)
        sources.append(Source(name: String(decoding: src.string, as: UTF8.self), last: n, events: 1))
    }

    /// The index of the publisher named by the UTF-8 bytes `name`, if tracked, and the hash
    /// under which it is (or would be) in `index`.
    @inline(__always)
    private func find(_ name: UnsafeRawBufferPointer) -> (found: Int?, hash: UInt64) {
        var h = ValueHash.hash(bytes: name)
        while let i = index[h] {
            if sources[Int(i)].name.utf8.elementsEqual(name) { return (Int(i), h) }
            h &+= 1 // a 64-bit collision between two names: probe on
        }
        return (nil, h)
    }

    @inline(__always)
    private mutating func advance(_ i: Int, _ n: Int64) {
        sources[i].events &+= 1
        let last = sources[i].last
        if n == last &+ 1 {
            sources[i].last = n
        } else if n > last {
            sources[i].gaps &+= n - last - 1
            sources[i].last = n
        } else if n <= 1 && last > 1 {
            sources[i].resets &+= 1
            sources[i].last = n
        } else {
            sources[i].duplicates &+= 1
        }
    }

    private var reported = (untracked: Int64(0), invalid: Int64(0))

    /// The counter increments since the previous call, for the `counters` table:
    /// `seq_gaps{src}`, `seq_duplicates{src}`, `seq_resets{src}`, `seq_untracked{}`, `seq_invalid{}`.
    public mutating func deltas() -> [CounterDelta] {
        var out: [CounterDelta] = []
        for i in sources.indices {
            let s = sources[i]
            let labels = CanonicalLabels.json(["src": s.name])
            if s.gaps != s.reported.gaps { out.append(CounterDelta(name: "seq_gaps", labels: labels, delta: s.gaps - s.reported.gaps)) }
            if s.duplicates != s.reported.duplicates {
                out.append(CounterDelta(name: "seq_duplicates", labels: labels, delta: s.duplicates - s.reported.duplicates))
            }
            if s.resets != s.reported.resets { out.append(CounterDelta(name: "seq_resets", labels: labels, delta: s.resets - s.reported.resets)) }
            sources[i].reported = (s.gaps, s.duplicates, s.resets)
        }
        if untracked != reported.untracked { out.append(CounterDelta(name: "seq_untracked", labels: "{}", delta: untracked - reported.untracked)) }
        if invalid != reported.invalid { out.append(CounterDelta(name: "seq_invalid", labels: "{}", delta: invalid - reported.invalid)) }
        reported = (untracked, invalid)
        return out
    }

    // MARK: - Checkpoints

    /// The publishers whose last sequence number changed since the previous call.
    public mutating func checkpointChanges() -> [(src: String, last: Int64)] {
        var out: [(src: String, last: Int64)] = []
        for i in sources.indices where sources[i].checkpointed != sources[i].last {
            out.append((sources[i].name, sources[i].last))
            sources[i].checkpointed = sources[i].last
        }
        return out
    }

    /// Remembers publisher `src` at sequence number `last`, as a checkpoint stored it, so that the
    /// next event of `src` is judged against it (a gap, a duplicate or a reset) as if kpid had
    /// not restarted. For a new tracker; a known `src` is left alone.
    public mutating func restore(src: String, last: Int64) {
        let (found, h) = Array(src.utf8).withUnsafeBytes { find($0) }
        guard found == nil, sources.count < maxSources else { return }
        index[h] = Int32(sources.count)
        var s = Source(name: src, last: last, events: 0)
        s.checkpointed = last
        sources.append(s)
    }
}
