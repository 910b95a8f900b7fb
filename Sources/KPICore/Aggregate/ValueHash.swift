/// A fast 64-bit hash of event values, used for distinct sets and label-set lookup.
///
/// It reads 8 bytes at a time and finishes with the MurmurHash3 64-bit mixer, so equal inputs
/// always hash equal (it is not seeded per process) and distinct counts are reproducible.
/// Different kinds hash apart: the string `"1"` and the number `1` are different values.
/// A collision of two different values (probability about n²/2⁶⁵ for n values) makes a distinct
/// count one too low; label sets are verified byte for byte and never merge on a collision.
public enum ValueHash {
    @inlinable @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var k = x
        k ^= k >> 33
        k &*= 0xff51_afd7_ed55_8ccd
        k ^= k >> 33
        k &*= 0xc4ce_b9fe_1a85_ec53
        k ^= k >> 33
        return k
    }

    /// Hash of raw bytes with a seed.
    @inlinable
    public static func hash(bytes: UnsafeRawBufferPointer, seed: UInt64 = 0x9E37_79B9_7F4A_7C15) -> UInt64 {
        var h = seed ^ (UInt64(truncatingIfNeeded: bytes.count) &* 0x87c3_7b91_1142_53d5)
        let n = bytes.count
        var i = 0
        var tail: UInt64 = 0
        // An empty buffer may or may not have a base address: both must hash the same.
        if let base = bytes.baseAddress {
            while i + 8 <= n {
                let w = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                h = (h ^ mix(w)) &* 0x9E37_79B9_7F4A_7C15
                h = (h << 27) | (h >> 37)
                i += 8
            }
            // The last n - i < 8 bytes, little-endian: at most one 4-, one 2- and one 1-byte load.
            let rest = n - i
            var shift: UInt64 = 0
            if rest & 4 != 0 {
                tail = UInt64(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt32.self)))
                i += 4
                shift = 32
            }
            if rest & 2 != 0 {
                tail |= UInt64(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt16.self))) << shift
                i += 2
                shift += 16
            }
            if rest & 1 != 0 {
                tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
            }
        }
        h ^= mix(tail ^ 0x1656_67b1_9e37_79f9)
        return mix(h)
    }

    /// Hash of one field value; the kind is part of the hash.
    @inlinable
    public static func hash(_ v: FieldValue) -> UInt64 {
        switch v.kind {
        case .string: return hash(bytes: v.string, seed: 0x5851_F42D_4C95_7F2D)
        case .number:
            // Normalise -0 to 0 so that equal numbers hash equal.
            let d = v.number == 0 ? 0 : v.number
            return mix(d.bitPattern ^ 0x2545_F491_4F6C_DD1D)
        case .bool: return mix(UInt64(v.number != 0 ? 3 : 2) ^ 0x1B87_3593_5A0B_2F67)
        case .null: return 0x0123_4567_89AB_CDEF
        case .absent: return 0x7FEB_352D_4C3F_1A9B
        }
    }
}
