import KPICore
import TOMLKit

/// The keys of quantile and distinct metrics: `distinct_exact_max`, and the `quantile` label.
extension ConfigCompiler {
    /// `distinct_exact_max` in `t`: an integer in 1 ... ``KpidConfig/maxDistinctExactMax``.
    mutating func distinctExactMax(_ t: TOMLTable, prefix: String) -> Read<Int> {
        let n = int(t, "distinct_exact_max", prefix: prefix, min: 1)
        if let v = n.value, v > KpidConfig.maxDistinctExactMax {
            fail(TOMLKeyLocator.join(prefix, "distinct_exact_max"),
                 "must be at most \(KpidConfig.maxDistinctExactMax), found \(v)",
                 hint: "above it the count switches to a HyperLogLog estimate (0.81% standard error, 12 KiB)")
            return .invalid
        }
        return n
    }

    /// Applies a metric's `distinct_exact_max` (or the `[kpid]` default) and checks that a
    /// quantile metric does not group by `quantile`; false when the metric is unusable (already
    /// reported).
    mutating func sketchKeys(_ t: TOMLTable, prefix: String, metric m: inout MetricDefinition, defaultExactMax: Int) -> Bool {
        var ok = true
        m.distinctExactMax = defaultExactMax
        switch distinctExactMax(t, prefix: prefix) {
        case .absent: break
        case .invalid: ok = false
        case .value(let n):
            if case .distinct = m.aggregate {
                m.distinctExactMax = n
            } else {
                fail("\(prefix).distinct_exact_max", "distinct_exact_max applies only to distinct(field) aggregates",
                     hint: "remove it, or use aggregate = \"distinct(field)\"")
                ok = false
            }
        }
        if case .quantile = m.aggregate, let j = m.groupBy.firstIndex(of: QuantileLabel.name) {
            fail("\(prefix).group_by[\(j)]",
                 "a quantile metric cannot group by \(quoted(QuantileLabel.name)): its rows carry a \(quoted(QuantileLabel.name)) label",
                 hint: "group by another field, or rename the field in the events")
            ok = false
        }
        return ok
    }
}
