/// Distinct counting with the switch to an estimate, quantile sketches, and merging partials.
extension AggregateCell {
    /// Counts one distinct hash: in the exact set while it holds at most its limit, then in the
    /// ``HyperLogLog`` the exact hashes were folded into. No allocation except when the exact set
    /// grows, and once (12 KiB) at the switch. True when `h` is a new element of the exact set
    /// (which a checkpoint must then write); false for a known one, or once estimated.
    @inline(__always) @discardableResult
    mutating func insertDistinct(_ h: UInt64) -> Bool {
        if let hll {
            hll.insert(h)
            return false
        }
        guard distinct!.insert(h) else { return false }
        if distinct!.isOverLimit {
            switchToEstimate()
            return false
        }
        return true
    }

    /// Replaces the exact set by a HyperLogLog holding the same hashes.
    mutating func switchToEstimate() {
        guard hll == nil, let set = distinct else { return }
        let sketch = HyperLogLog()
        set.forEach { sketch.insert($0) }
        set.release()
        distinct = nil
        hll = sketch
    }

    /// Folds one value into a quantile cell: the sketch and the count, sum, min and max.
    @inline(__always)
    mutating func add(quantileValue x: Double) {
        add(number: x)
        sketch!.insert(x)
    }

    /// Folds the partial aggregate `other` (of the same metric, over other events) into this
    /// one, as if this cell had seen both sets of events: counts and sums add, extremes combine,
    /// distinct sets unite (exact ∪ exact stays exact while within the limit, otherwise the
    /// union is estimated), and quantile sketches add their buckets. `other` is left as it is
    /// and still owned by its owner.
    mutating func merge(_ other: AggregateCell) {
        samples &+= other.samples
        sum += other.sum
        if other.min < min { min = other.min }
        if other.max > max { max = other.max }
        if let o = other.sketch {
            if sketch == nil { sketch = QuantileSketch() }
            sketch!.merge(o)
        }
        if let oh = other.hll {
            switchToEstimateOrCreate()
            hll!.merge(oh)
        } else if let os = other.distinct {
            if let hll {
                os.forEach { hll.insert($0) }
            } else {
                if distinct == nil { distinct = DistinctSet(limit: Int(os.limit)) }
                distinct!.formUnion(os)
                if distinct!.isOverLimit { switchToEstimate() }
            }
        }
    }

    private mutating func switchToEstimateOrCreate() {
        if hll != nil { return }
        if distinct != nil {
            switchToEstimate()
        } else {
            hll = HyperLogLog()
        }
    }
}
