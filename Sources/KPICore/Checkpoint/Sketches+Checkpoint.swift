/// Checkpoint blobs of the two sketches.
extension HyperLogLog {
    static let checkpointVersion: UInt8 = 1

    /// The registers as a blob: a version byte, then the 12,288 packed register bytes.
    var checkpointBytes: [UInt8] {
        var w = CheckpointBytesWriter(capacity: 1 + Self.registerBytes)
        w.u8(Self.checkpointVersion)
        w.raw(UnsafeRawBufferPointer(start: bytes, count: Self.registerBytes))
        return w.bytes
    }

    /// A sketch with the registers of ``checkpointBytes`` (the histogram is recounted), or nil
    /// when the blob is not one.
    init?(checkpoint blob: [UInt8]) {
        guard blob.count == 1 + Self.registerBytes, blob[0] == Self.checkpointVersion else { return nil }
        self.init()
        for i in 0..<Self.registerBytes { bytes[i] = blob[1 + i] }
        let h = recountedHistogram
        for (v, n) in h.enumerated() { histogram[v] = n }
    }
}

extension QuantileSketch {
    static let checkpointVersion: UInt8 = 1

    /// The sketch as a blob: version, count, zero count, min, max (u64/f64), floor, min and max key
    /// (i32), then one u64 count per key from min to max key (none while no positive value was
    /// seen). At most 2,048 buckets: 16 KiB + 41 bytes.
    var checkpointBytes: [UInt8] {
        let s = store.pointee
        let n = s.minKey <= s.maxKey ? Int(s.maxKey) - Int(s.minKey) + 1 : 0
        var w = CheckpointBytesWriter(capacity: 45 + 8 * n)
        w.u8(Self.checkpointVersion)
        w.u64(s.count)
        w.u64(s.zeroCount)
        w.f64(s.min)
        w.f64(s.max)
        w.i32(s.floorKey)
        w.i32(s.minKey)
        w.i32(s.maxKey)
        if n > 0, let counts = s.counts {
            for key in s.minKey...s.maxKey { w.u64(counts[Int(key) - Int(s.offset)]) }
        }
        return w.bytes
    }

    /// The sketch of ``checkpointBytes``, or nil when the blob is not one.
    init?(checkpoint blob: [UInt8]) {
        var r = CheckpointBytesReader(blob)
        guard r.u8() == Self.checkpointVersion, let count = r.u64(), let zero = r.u64(), let mn = r.f64(), let mx = r.f64(),
              let floor = r.i32(), let minKey = r.i32(), let maxKey = r.i32()
        else { return nil }
        let n = minKey <= maxKey ? Int(maxKey) - Int(minKey) + 1 : 0
        guard n <= Int(Self.maxBuckets), r.remaining == 8 * n else { return nil }
        self.init()
        let s = store
        s.pointee.count = count
        s.pointee.zeroCount = zero
        s.pointee.min = mn
        s.pointee.max = mx
        s.pointee.floorKey = floor
        guard n > 0 else { return }
        var cap = 32
        while cap < n { cap *= 2 }
        let counts = UnsafeMutablePointer<UInt64>.allocate(capacity: cap)
        counts.initialize(repeating: 0, count: cap)
        for i in 0..<n { counts[i] = r.u64()! }
        s.pointee.counts = counts
        s.pointee.capacity = Int32(cap)
        s.pointee.offset = minKey
        s.pointee.minKey = minKey
        s.pointee.maxKey = maxKey
    }
}
