/// The partial aggregate of one (metric, period, window, label set).
///
/// A cell is about 80 bytes plus, for `distinct`, its ``DistinctSet``'s table or, above the
/// metric's `distinct_exact_max`, a 12 KiB ``HyperLogLog``; for `quantile`, a ``QuantileSketch``.
/// It keeps enough to answer every aggregate kind: `samples` (events that fed it), `sum`, `min`,
/// `max`, the distinct set or its estimate and the quantile sketch. A plain value (no
/// references): the engine that owns it calls ``release()`` once when it drops the cell.
struct AggregateCell {
    var samples: Int64 = 0
    var sum: Double = 0
    var min: Double = .infinity
    var max: Double = -.infinity
    /// The exact distinct set, until it holds more than its limit.
    var distinct: DistinctSet?
    /// The distinct estimate, once the exact set outgrew its limit (then `distinct` is nil).
    var hll: HyperLogLog?
    /// The quantile sketch of a `quantile` / `median` metric.
    var sketch: QuantileSketch?
    /// True when the cell changed since the last flush.
    var dirty = false

    init(distinct: Bool) {
        self.distinct = distinct ? DistinctSet() : nil
    }

    /// A cell for a metric: `distinct` ones start with an exact set that switches to an estimate
    /// above `distinctExactMax` values; `quantile` ones get a sketch.
    init(distinct: Bool, distinctExactMax: Int, quantile: Bool) {
        self.distinct = distinct ? DistinctSet(limit: distinctExactMax) : nil
        self.sketch = quantile ? QuantileSketch() : nil
    }

    /// Frees the storage of the distinct set, estimate and sketch, if any; the cell must then be
    /// replaced, not used.
    func release() {
        distinct?.release()
        hll?.release()
        sketch?.release()
    }

    /// Folds one numeric value in.
    @inline(__always)
    mutating func add(number x: Double) {
        samples &+= 1
        sum += x
        if x < min { min = x }
        if x > max { max = x }
    }

    /// True when a distinct count is an estimate (the exact set outgrew its limit).
    var isEstimated: Bool { hll != nil }

    /// The value this cell stands for under `aggregate`, or nil when it has none
    /// (an average of nothing). For `quantile`, the first quantile; see ``quantile(_:)``.
    func value(for aggregate: AggregateSpec) -> Double? {
        switch aggregate {
        case .count: return Double(samples)
        case .sum: return sum
        case .min: return samples > 0 ? min : nil
        case .max: return samples > 0 ? max : nil
        case .avg: return samples > 0 ? sum / Double(samples) : nil
        case .distinct: return distinctCount
        case .quantile(_, let qs): return qs.first.flatMap { quantile($0) }
        }
    }

    /// The exact distinct count, or its estimate (rounded to an integer) above the limit.
    var distinctCount: Double {
        if let hll { return hll.estimate.rounded() }
        return Double(distinct?.count ?? 0)
    }

    /// The `q` quantile of the values folded in (see ``QuantileSketch``), nil without values.
    func quantile(_ q: Double) -> Double? { sketch?.quantile(q) }
}
