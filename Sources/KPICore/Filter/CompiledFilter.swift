/// The outcome of testing one event against a filter.
public enum FilterOutcome: Sendable, Equatable {
    case match
    case noMatch
    /// A field the filter compares has the wrong JSON type (a string where a number is
    /// compared, say). The event is rejected for this metric with reason `wrong_field_type`.
    case wrongType(slot: Int)
}

/// A ``FilterExpr`` bound to decoder slots, ready for the hot path.
///
/// Semantics, per field reference:
/// - A comparison of an absent or null field is false; `!=` is the negation of `=`, so it is true.
/// - `= null` is true for an absent or null field, `!= null` for a present, non-null one.
/// - Numbers compare numerically, strings byte-wise (UTF-8 order), booleans only by `=`/`!=`.
/// - A present field of a different kind than the literal (string vs number) is a type error,
///   reported as ``FilterOutcome/wrongType(slot:)``.
///
/// Evaluation allocates nothing: string literals are stored as byte arrays once.
public indirect enum CompiledFilter: Sendable {
    case compareNumber(slot: Int, op: ComparisonOperator, value: Double)
    case compareString(slot: Int, op: ComparisonOperator, value: [UInt8])
    case compareBool(slot: Int, equal: Bool, value: Bool)
    case isNull(slot: Int, negate: Bool)
    case oneOf(slot: Int, numbers: [Double], strings: [[UInt8]], bools: [Bool], includesNull: Bool)
    case exists(slot: Int)
    case hasPrefix(slot: Int, prefix: [UInt8])
    case and(CompiledFilter, CompiledFilter)
    case or(CompiledFilter, CompiledFilter)
    case not(CompiledFilter)

    /// Binds `expr` to slots, adding its fields to `catalog`.
    public init(_ expr: FilterExpr, catalog: inout FieldCatalog) {
        switch expr {
        case .compare(let field, let op, let value):
            let slot = catalog.slot(for: field)
            switch value {
            case .number(let d): self = .compareNumber(slot: slot, op: op, value: d)
            case .string(let s): self = .compareString(slot: slot, op: op, value: Array(s.utf8))
            case .bool(let b): self = .compareBool(slot: slot, equal: op != .notEqual, value: b)
            case .null: self = .isNull(slot: slot, negate: op == .notEqual)
            }
        case .oneOf(let field, let values):
            var numbers: [Double] = [], strings: [[UInt8]] = [], bools: [Bool] = [], null = false
            for v in values {
                switch v {
                case .number(let d): numbers.append(d)
                case .string(let s): strings.append(Array(s.utf8))
                case .bool(let b): bools.append(b)
                case .null: null = true
                }
            }
            self = .oneOf(slot: catalog.slot(for: field), numbers: numbers, strings: strings, bools: bools, includesNull: null)
        case .exists(let field):
            self = .exists(slot: catalog.slot(for: field))
        case .hasPrefix(let field, let prefix):
            self = .hasPrefix(slot: catalog.slot(for: field), prefix: Array(prefix.utf8))
        case .and(let a, let b):
            self = .and(CompiledFilter(a, catalog: &catalog), CompiledFilter(b, catalog: &catalog))
        case .or(let a, let b):
            self = .or(CompiledFilter(a, catalog: &catalog), CompiledFilter(b, catalog: &catalog))
        case .not(let a):
            self = .not(CompiledFilter(a, catalog: &catalog))
        }
    }

    /// Tests the event whose fields are `slots`.
    public func evaluate(_ slots: UnsafeBufferPointer<FieldValue>) -> FilterOutcome {
        switch self {
        case .compareNumber(let slot, let op, let value):
            let f = slots[slot]
            switch f.kind {
            case .number: return Self.order(op, f.number < value ? -1 : (f.number > value ? 1 : 0))
            case .absent, .null: return op == .notEqual ? .match : .noMatch
            default: return .wrongType(slot: slot)
            }
        case .compareString(let slot, let op, let value):
            let f = slots[slot]
            switch f.kind {
            case .string: return Self.order(op, Self.compareBytes(f.string, value))
            case .absent, .null: return op == .notEqual ? .match : .noMatch
            default: return .wrongType(slot: slot)
            }
        case .compareBool(let slot, let equal, let value):
            let f = slots[slot]
            switch f.kind {
            case .bool: return ((f.number != 0) == value) == equal ? .match : .noMatch
            case .absent, .null: return equal ? .noMatch : .match
            default: return .wrongType(slot: slot)
            }
        case .isNull(let slot, let negate):
            let k = slots[slot].kind
            return ((k == .absent || k == .null) != negate) ? .match : .noMatch
        case .oneOf(let slot, let numbers, let strings, let bools, let includesNull):
            let f = slots[slot]
            switch f.kind {
            case .absent, .null: return includesNull ? .match : .noMatch
            case .number:
                if numbers.contains(f.number) { return .match }
                return numbers.isEmpty && !strings.isEmpty ? .wrongType(slot: slot) : .noMatch
            case .string:
                for s in strings where Self.compareBytes(f.string, s) == 0 { return .match }
                return strings.isEmpty && !numbers.isEmpty ? .wrongType(slot: slot) : .noMatch
            case .bool:
                return bools.contains(f.number != 0) ? .match : .noMatch
            }
        case .exists(let slot):
            let k = slots[slot].kind
            return (k == .absent || k == .null) ? .noMatch : .match
        case .hasPrefix(let slot, let prefix):
            let f = slots[slot]
            switch f.kind {
            case .string:
                guard f.string.count >= prefix.count else { return .noMatch }
                return prefix.withUnsafeBytes { p in
                    p.count == 0 || memcmpBytes(f.string.baseAddress!, p.baseAddress!, p.count) == 0
                } ? .match : .noMatch
            case .absent, .null: return .noMatch
            default: return .wrongType(slot: slot)
            }
        case .and(let a, let b):
            let x = a.evaluate(slots)
            if x != .match { return x }
            return b.evaluate(slots)
        case .or(let a, let b):
            let x = a.evaluate(slots)
            if x == .match { return x }
            let y = b.evaluate(slots)
            if case .wrongType = x, y == .noMatch { return x }
            return y
        case .not(let a):
            switch a.evaluate(slots) {
            case .match: return .noMatch
            case .noMatch: return .match
            case .wrongType(let s): return .wrongType(slot: s)
            }
        }
    }

    @inline(__always)
    static func order(_ op: ComparisonOperator, _ c: Int) -> FilterOutcome {
        let r: Bool
        switch op {
        case .equal: r = c == 0
        case .notEqual: r = c != 0
        case .less: r = c < 0
        case .lessOrEqual: r = c <= 0
        case .greater: r = c > 0
        case .greaterOrEqual: r = c >= 0
        }
        return r ? .match : .noMatch
    }

    @inline(__always)
    static func compareBytes(_ a: UnsafeRawBufferPointer, _ b: [UInt8]) -> Int {
        b.withUnsafeBytes { bb in
            let n = min(a.count, bb.count)
            if n > 0 {
                let c = memcmpBytes(a.baseAddress!, bb.baseAddress!, n)
                if c != 0 { return c < 0 ? -1 : 1 }
            }
            return a.count == bb.count ? 0 : (a.count < bb.count ? -1 : 1)
        }
    }
}

/// Byte comparison without Foundation or libc: returns <0, 0 or >0 like `memcmp`.
@inline(__always)
func memcmpBytes(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Int {
    var i = 0
    while i + 8 <= n {
        let x = UInt64(bigEndian: a.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        let y = UInt64(bigEndian: b.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        if x != y { return x < y ? -1 : 1 }
        i += 8
    }
    while i < n {
        let x = a.load(fromByteOffset: i, as: UInt8.self)
        let y = b.load(fromByteOffset: i, as: UInt8.self)
        if x != y { return x < y ? -1 : 1 }
        i += 1
    }
    return 0
}

/// Whether `n` bytes at `a` and `b` are equal; reads whole words (the last one overlapping),
/// never past `n` bytes. Cheaper than ``memcmpBytes`` when only equality matters.
@inline(__always)
func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
    if n >= 8 {
        var i = 0
        while i + 8 < n {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                return false
            }
            i += 8
        }
        return a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
    }
    if n >= 4 {
        return a.loadUnaligned(as: UInt32.self) == b.loadUnaligned(as: UInt32.self)
            && a.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == b.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
    }
    if n >= 2 {
        return a.loadUnaligned(as: UInt16.self) == b.loadUnaligned(as: UInt16.self)
            && a.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self) == b.loadUnaligned(fromByteOffset: n - 2, as: UInt16.self)
    }
    return n == 0 || a.load(as: UInt8.self) == b.load(as: UInt8.self)
}
