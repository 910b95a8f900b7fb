/// The state of one alert: inactive → pending → firing → resolved (Prometheus's states, plus
/// `resolved` kept for a while so that resolved notifications can go out).
public enum AlertPhase: String, Sendable, Equatable, CaseIterable {
    case inactive, pending, firing, resolved
}

/// One (rule, label set) alert and its timers. A plain value, persisted in `alert_state` after
/// every change so that pending timers and `keep_firing_for` survive a restart.
///
/// Times are in the rule's clock: event time (the watermark) for threshold rules, wall-clock
/// time for `absent_for` rules. Memory: one instance per active label set (≈ 300 bytes plus
/// its labels); inactive label sets of threshold rules take none.
public struct AlertInstance: Sendable, Equatable {
    public var rule: String
    /// Canonical JSON of the metric row's labels (the identity within the rule).
    public var seriesLabels: String
    public var phase: AlertPhase
    /// Labels of the alert: the row's labels, the rule's labels, `alertname` and `severity`.
    public var labels: [String: String]
    /// The last value seen (nil for an absent label set).
    public var value: Double?
    public var samples: Int64 = 0
    /// Window of the value (threshold rules): a newer window replaces it, an older one is ignored.
    public var windowStart: EpochMillis = .min
    public var windowEnd: EpochMillis = .min
    /// True once the window of ``value`` is final: the value then no longer counts.
    public var windowFinal = false
    /// When the condition started to hold (pending since).
    public var activeAt: EpochMillis?
    /// When the alert fired (the notification's `startsAt`).
    public var firedAt: EpochMillis?
    /// The last evaluation at which the condition held (for `keep_firing_for`).
    public var lastTrueAt: EpochMillis?
    public var resolvedAt: EpochMillis?
    /// Wall-clock time new data last arrived for the label set (`absent_for` rules).
    public var lastSeen: EpochMillis?

    public init(rule: String, seriesLabels: String, labels: [String: String]) {
        self.rule = rule
        self.seriesLabels = seriesLabels
        self.labels = labels
        self.phase = .inactive
    }

    /// 64-bit fingerprint of ``labels`` in hex (Alertmanager's `fingerprint`): stable across
    /// restarts and machines.
    public var fingerprint: String { Self.fingerprint(labels) }

    public static func fingerprint(_ labels: [String: String]) -> String {
        let json = CanonicalLabels.json(labels)
        let h = Array(json.utf8).withUnsafeBytes { ValueHash.hash(bytes: $0) }
        let hex = String(h, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}
