extension ComparisonOperator {
    /// `lhs op rhs`.
    @inline(__always)
    public func holds(_ lhs: Double, _ rhs: Double) -> Bool {
        switch self {
        case .greater: return lhs > rhs
        case .greaterOrEqual: return lhs >= rhs
        case .less: return lhs < rhs
        case .lessOrEqual: return lhs <= rhs
        case .equal: return lhs == rhs
        case .notEqual: return lhs != rhs
        }
    }
}

/// What makes a rule's condition hold for one label set.
public enum AlertCondition: Sendable, Equatable {
    /// `value op threshold` on the label set's current value (see ``AlertEvaluator``). A label set
    /// without a current value (no row yet, or its window closed) does not satisfy it.
    case threshold(ComparisonOperator, Double)
    /// No new data from a label set that used to report, for this long in wall-clock time.
    case absent(forMillis: Int64)

    public var isAbsent: Bool {
        if case .absent = self { return true }
        return false
    }
}

/// One label matcher of a rule: `name = "value"` or `name != "value"` on the row's labels
/// (a label missing from the row, or JSON null, reads as the empty string, as in Prometheus).
public struct LabelMatcher: Sendable, Equatable {
    public var name: String
    public var value: String
    public var negated: Bool
    public init(name: String, value: String, negated: Bool = false) {
        self.name = name
        self.value = value
        self.negated = negated
    }

    @inline(__always)
    public func matches(_ labels: [String: String]) -> Bool {
        ((labels[name] ?? "") == value) != negated
    }
}

/// One alerting rule, as compiled from an `[[alerts]]` table.
///
/// A rule watches one metric in one window period and is evaluated per label set of that
/// metric's rows (after ``matchers``), so one rule watches every retailer. Templates are
/// compiled at config load; rendering cannot fail.
public struct AlertRule: Sendable, Equatable {
    public var name: String
    public var metric: String
    /// The window period read (`minute`, `hour`, …); the loader fills in the metric's smallest
    /// period when the rule names none. Any period string the engine emits works here.
    public var period: String
    public var matchers: [LabelMatcher]
    public var condition: AlertCondition
    /// How long the condition must hold before the alert fires (event time; wall-clock time for
    /// `absent_for` rules).
    public var forMillis: Int64
    /// How long the alert stays firing after the condition stops holding.
    public var keepFiringForMillis: Int64
    /// `critical`, `high`, `medium`, `low` or `info` (see ``AlertSeverity``).
    public var severity: String
    /// Extra labels; part of the alert's identity. Rendered once, when the alert becomes pending.
    public var labels: [(String, AlertTemplate)]
    /// Annotations (`summary`, `description`, …), rendered with the current value at each notification.
    public var annotations: [(String, AlertTemplate)]
    /// Receivers the alert is routed to; empty means every receiver.
    public var receivers: [String]

    public init(name: String, metric: String, period: String, matchers: [LabelMatcher] = [],
                condition: AlertCondition, forMillis: Int64 = 0, keepFiringForMillis: Int64 = 0,
                severity: String = "high", labels: [(String, AlertTemplate)] = [],
                annotations: [(String, AlertTemplate)] = [], receivers: [String] = []) {
        self.name = name
        self.metric = metric
        self.period = period
        self.matchers = matchers
        self.condition = condition
        self.forMillis = forMillis
        self.keepFiringForMillis = keepFiringForMillis
        self.severity = severity
        self.labels = labels
        self.annotations = annotations
        self.receivers = receivers
    }

    public static func == (a: AlertRule, b: AlertRule) -> Bool {
        a.name == b.name && a.metric == b.metric && a.period == b.period && a.matchers == b.matchers
            && a.condition == b.condition && a.forMillis == b.forMillis && a.keepFiringForMillis == b.keepFiringForMillis
            && a.severity == b.severity && a.receivers == b.receivers
            && a.labels.map(\.0) == b.labels.map(\.0) && a.labels.map(\.1) == b.labels.map(\.1)
            && a.annotations.map(\.0) == b.annotations.map(\.0) && a.annotations.map(\.1) == b.annotations.map(\.1)
    }

    /// True when every matcher accepts `labels`.
    @inline(__always)
    public func matches(_ labels: [String: String]) -> Bool {
        for m in matchers where !m.matches(labels) { return false }
        return true
    }
}

/// Severity names, most severe first. Inhibition compares ranks: a firing alert of the source
/// severity mutes alerts of a *lower* severity (a larger rank).
public enum AlertSeverity {
    public static let names = ["critical", "high", "medium", "low", "info"]

    /// 0 for `critical`, … 4 for `info`; nil for an unknown name.
    public static func rank(_ name: String) -> Int? { names.firstIndex(of: name) }
}
