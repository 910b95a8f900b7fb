import Foundation

/// A HyperLogLog sketch of distinct 64-bit hashes: precision 14 (16,384 registers), a standard
/// error of 1.04/√16384 ≈ 0.81%.
///
/// The hashes are ``ValueHash`` values, already well mixed: the top 14 bits choose the register,
/// the other 50 give the rank (leading zeros + 1, at most 51). Registers are 6 bits, packed:
/// 12,288 bytes (+8 of padding) in one allocation, so a sketch is 12 KiB whatever it counts.
/// The estimate is Ertl's improved raw estimator ("New cardinality estimation algorithms for
/// HyperLogLog sketches", 2017), which needs neither bias tables nor a linear-counting switch
/// and is unbiased from 0 to far beyond 2⁶⁴ / 16384.
///
/// Inserting is a shift, a count of leading zeros and a 16-bit read-modify-write; no allocation.
/// Merging is the register-wise maximum (the union of the counted sets).
///
/// Ownership: a handle over manually managed storage (copies share it), like ``DistinctSet``;
/// exactly one owner calls ``release()`` once. Single-threaded.
struct HyperLogLog {
    static let precision = 14
    static let registerCount = 1 << precision
    /// Bytes of the packed registers.
    static let registerBytes = registerCount * 6 / 8
    /// Rank bits: `q` in Ertl's paper.
    static let q = 64 - precision

    private let bytes: UnsafeMutablePointer<UInt8>

    /// An empty sketch (allocates 12 KiB, zeroed).
    init() {
        bytes = .allocate(capacity: Self.registerBytes + 8)
        bytes.initialize(repeating: 0, count: Self.registerBytes + 8)
    }

    /// Frees the storage.
    func release() { bytes.deallocate() }

    /// Bytes this sketch holds.
    static var memoryBytes: Int { registerBytes + 8 }

    @inline(__always)
    private func register(_ i: Int) -> UInt8 {
        let bit = i &* 6
        let w = UInt16(bytes[bit >> 3]) | UInt16(bytes[(bit >> 3) &+ 1]) << 8
        return UInt8(truncatingIfNeeded: (w >> UInt16(bit & 7)) & 63)
    }

    @inline(__always)
    private func setRegister(_ i: Int, _ v: UInt8) {
        let bit = i &* 6
        let at = bit >> 3, shift = UInt16(bit & 7)
        var w = UInt16(bytes[at]) | UInt16(bytes[at &+ 1]) << 8
        w = (w & ~(63 << shift)) | (UInt16(v) << shift)
        bytes[at] = UInt8(truncatingIfNeeded: w)
        bytes[at &+ 1] = UInt8(truncatingIfNeeded: w >> 8)
    }

    /// Counts one hash.
    @inline(__always)
    func insert(_ h: UInt64) {
        let i = Int(truncatingIfNeeded: h >> UInt64(Self.q))
        // The low q bits, with a sentinel so the rank is at most q + 1.
        let w = (h << UInt64(Self.precision)) | (1 << UInt64(Self.precision - 1))
        let rank = UInt8(truncatingIfNeeded: w.leadingZeroBitCount &+ 1)
        if rank > register(i) { setRegister(i, rank) }
    }

    /// Folds `other` in: afterwards this sketch counts the union of both sets.
    func merge(_ other: HyperLogLog) {
        for i in 0..<Self.registerCount {
            let v = other.register(i)
            if v > register(i) { setRegister(i, v) }
        }
    }

    /// The estimated number of distinct hashes inserted.
    var estimate: Double {
        let m = Double(Self.registerCount)
        var histogram = [Int](repeating: 0, count: Self.q + 2)
        for i in 0..<Self.registerCount { histogram[Int(register(i))] += 1 }
        var z = m * Self.tau(1 - Double(histogram[Self.q + 1]) / m)
        for k in stride(from: Self.q, through: 1, by: -1) {
            z = 0.5 * (z + Double(histogram[k]))
        }
        z += m * Self.sigma(Double(histogram[0]) / m)
        return (m * m / (2 * M_LN2)) / z
    }

    /// σ(x) = x + Σ_{k≥1} x^(2^k) · 2^(k−1).
    static func sigma(_ x0: Double) -> Double {
        if x0 == 1 { return .infinity }
        var x = x0, y = 1.0, z = x0
        while true {
            x *= x
            let previous = z
            z += x * y
            y += y
            if z == previous { return z }
        }
    }

    /// τ(x) = (1 − x − Σ_{k≥1} (1 − x^(2^−k))² · 2^−k) / 3.
    static func tau(_ x0: Double) -> Double {
        if x0 == 0 || x0 == 1 { return 0 }
        var x = x0, y = 1.0, z = 1 - x0
        while true {
            x = x.squareRoot()
            let previous = z
            y *= 0.5
            z -= (1 - x) * (1 - x) * y
            if z == previous { return z / 3 }
        }
    }
}
