import KPICore
import XCTest

let sec: Int64 = 1_000
let min1: Int64 = 60_000

/// A minute-window row of `metric` for `labels` starting at `start`.
func row(_ labels: [String: String], value: Double?, start: EpochMillis, samples: Int64 = 10) -> AggregateRow {
    row("err_rate", labels, value: value, start: start, samples: samples)
}

func row(_ metric: String, _ labels: [String: String], value: Double?, start: EpochMillis,
         period: String = "minute", length: Int64 = 60_000, samples: Int64 = 10, final: Bool = false) -> AggregateRow {
    AggregateRow(metric: metric, period: period, windowStart: start, windowEnd: start + length,
                 labels: CanonicalLabels.json(labels), value: value, samples: samples, isFinal: final)
}

func rule(_ name: String = "high_errors", metric: String = "err_rate", op: ComparisonOperator = .greater,
          threshold: Double = 0.05, forMillis: Int64 = 0, keep: Int64 = 0, severity: String = "high",
          matchers: [LabelMatcher] = [], receivers: [String] = [], annotations: [(String, AlertTemplate)] = []) -> AlertRule {
    AlertRule(name: name, metric: metric, period: "minute", matchers: matchers, condition: .threshold(op, threshold),
              forMillis: forMillis, keepFiringForMillis: keep, severity: severity, annotations: annotations,
              receivers: receivers)
}

func alert(_ rule: String, _ labels: [String: String], severity: String = "high", firing: Bool = true,
           startsAt: EpochMillis = 1_000, receivers: [String] = []) -> DispatchAlert {
    var l = labels
    l["alertname"] = rule
    l["severity"] = severity
    return DispatchAlert(rule: rule, labels: l, annotations: [:], startsAt: startsAt, endsAt: firing ? nil : startsAt + 60_000,
                         severity: severity, receivers: receivers, value: 1)
}
