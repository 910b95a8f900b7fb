/// An exact set of distinct values, kept as 64-bit hashes (8 bytes per element plus the
/// hash table's load-factor overhead; no strings are kept).
public final class DistinctSet: @unchecked Sendable {
    public private(set) var hashes: Set<UInt64>
    public init(capacity: Int = 0) { hashes = Set(minimumCapacity: capacity) }
    /// Adds a hash; true when it was new.
    @inline(__always) @discardableResult
    public func insert(_ h: UInt64) -> Bool { hashes.insert(h).inserted }
    public var count: Int { hashes.count }
}

/// The partial aggregate of one (metric, period, window, label set).
///
/// A cell is 56 bytes plus, for `distinct`, its ``DistinctSet``. It keeps enough to answer every
/// aggregate kind: `samples` (events that fed it), `sum`, `min`, `max`, and the distinct set.
public struct AggregateCell: Sendable {
    public var samples: Int64 = 0
    public var sum: Double = 0
    public var min: Double = .infinity
    public var max: Double = -.infinity
    public var distinct: DistinctSet?
    /// True when the cell changed since the last flush.
    public var dirty = false

    public init(distinct: Bool) {
        self.distinct = distinct ? DistinctSet() : nil
    }

    /// Folds one numeric value in.
    @inline(__always)
    public mutating func add(number x: Double) {
        samples &+= 1
        sum += x
        if x < min { min = x }
        if x > max { max = x }
    }

    /// The value this cell stands for under `aggregate`, or nil when it has none
    /// (an average of nothing).
    public func value(for aggregate: AggregateSpec) -> Double? {
        switch aggregate {
        case .count: return Double(samples)
        case .sum: return sum
        case .min: return samples > 0 ? min : nil
        case .max: return samples > 0 ? max : nil
        case .avg: return samples > 0 ? sum / Double(samples) : nil
        case .distinct: return Double(distinct?.count ?? 0)
        }
    }
}
