/// The partial aggregate of one (metric, period, window, label set).
///
/// A cell is about 72 bytes plus, for `distinct`, its ``DistinctSet``'s table. It keeps enough to
/// answer every aggregate kind: `samples` (events that fed it), `sum`, `min`, `max`, and the
/// distinct set. A plain value (no references): the engine that owns it calls ``release()``
/// once when it drops the cell.
struct AggregateCell {
    var samples: Int64 = 0
    var sum: Double = 0
    var min: Double = .infinity
    var max: Double = -.infinity
    var distinct: DistinctSet?
    /// True when the cell changed since the last flush.
    var dirty = false

    init(distinct: Bool) {
        self.distinct = distinct ? DistinctSet() : nil
    }

    /// Frees the distinct set's storage, if any; the cell must then be replaced, not used.
    func release() { distinct?.release() }

    /// Folds one numeric value in.
    @inline(__always)
    mutating func add(number x: Double) {
        samples &+= 1
        sum += x
        if x < min { min = x }
        if x > max { max = x }
    }

    /// Folds the partial aggregate `other` in, as if its events had been added to this cell:
    /// samples and sums add up, min and max combine, distinct sets unite (a copy of `other`'s
    /// hashes; `other` stays owned by its cell). Merging the panes of a rolling window gives
    /// exactly the cell of all their events. Does not touch ``dirty``.
    mutating func merge(_ other: AggregateCell) {
        samples &+= other.samples
        sum += other.sum
        if other.min < min { min = other.min }
        if other.max > max { max = other.max }
        if let theirs = other.distinct {
            if distinct == nil { distinct = DistinctSet() }
            distinct!.formUnion(theirs)
        }
    }

    /// The value this cell stands for under `aggregate`, or nil when it has none
    /// (an average of nothing).
    func value(for aggregate: AggregateSpec) -> Double? {
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
