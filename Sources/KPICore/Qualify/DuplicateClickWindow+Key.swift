extension DuplicateClickWindow {
    private static let keySeed: UInt64 = 0xA076_1D64_78BD_642F

    /// Folds one more key part into a key hash; order matters, so (a, b) and (b, a) differ.
    @inlinable @inline(__always)
    static func combine(_ h: UInt64, _ part: FieldValue) -> UInt64 {
        ValueHash.mix((h &* 0x0000_0100_0000_01B3) ^ ValueHash.hash(part))
    }

    /// The dedupe key of a click whose key fields (for example visitor, listing) are `parts`, in
    /// order: a 64-bit hash of their kinds and values (see ``ValueHash``). No allocation.
    ///
    /// Absent fields hash like any other value; the caller decides whether a click that lacks a
    /// key field is rejected before it gets here.
    public static func key(of parts: UnsafeBufferPointer<FieldValue>) -> UInt64 {
        var h = keySeed
        for p in parts { h = combine(h, p) }
        return h
    }

    /// The dedupe key of the event whose decoded fields are `fields`, from the fields in `slots`,
    /// in order. Equal to ``key(of:)`` of those fields. No allocation.
    public static func key(of fields: UnsafeBufferPointer<FieldValue>, slots: [Int]) -> UInt64 {
        var h = keySeed
        for s in slots { h = combine(h, fields[s]) }
        return h
    }
}
