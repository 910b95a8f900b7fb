/// An alert as the dispatcher sees it: a firing or resolved instance with rendered annotations.
public struct DispatchAlert: Sendable, Equatable {
    public var rule: String
    public var fingerprint: String
    public var labels: [String: String]
    public var annotations: [String: String]
    public var startsAt: EpochMillis
    /// nil while firing.
    public var endsAt: EpochMillis?
    public var severity: String
    /// Receivers named by the rule; empty means every receiver.
    public var receivers: [String]
    public var value: Double?

    public var isFiring: Bool { endsAt == nil }
    /// Identity in the notification log: a new firing of the same labels is a new alert.
    var logID: String { "\(fingerprint)@\(startsAt)" }

    public init(rule: String, labels: [String: String], annotations: [String: String], startsAt: EpochMillis,
                endsAt: EpochMillis?, severity: String, receivers: [String], value: Double?) {
        self.rule = rule
        self.fingerprint = AlertInstance.fingerprint(labels)
        self.labels = labels
        self.annotations = annotations
        self.startsAt = startsAt
        self.endsAt = endsAt
        self.severity = severity
        self.receivers = receivers
        self.value = value
    }

    /// The dispatcher's view of an instance (nil when it is pending or inactive).
    public init?(_ a: AlertInstance, annotations: [String: String], receivers: [String], severity: String) {
        switch a.phase {
        case .firing:
            self.init(rule: a.rule, labels: a.labels, annotations: annotations, startsAt: a.firedAt ?? 0, endsAt: nil,
                      severity: severity, receivers: receivers, value: a.value)
        case .resolved:
            self.init(rule: a.rule, labels: a.labels, annotations: annotations, startsAt: a.firedAt ?? 0,
                      endsAt: a.resolvedAt ?? 0, severity: severity, receivers: receivers, value: a.value)
        case .inactive, .pending:
            return nil
        }
    }
}

/// One notification to one receiver: an Alertmanager webhook message in all but encoding.
public struct AlertNotification: Sendable, Equatable {
    /// Unique per notification; sent as `Idempotency-Key` and the outbox's key.
    public var idempotencyKey: String
    public var receiver: String
    public var groupKey: String
    /// `firing` when any alert in it fires, else `resolved`.
    public var status: String
    public var groupLabels: [String: String]
    public var commonLabels: [String: String]
    public var commonAnnotations: [String: String]
    public var alerts: [DispatchAlert]
    /// Wall-clock time it was cut.
    public var createdAt: EpochMillis

    public init(idempotencyKey: String, receiver: String, groupKey: String, status: String, groupLabels: [String: String],
                commonLabels: [String: String], commonAnnotations: [String: String], alerts: [DispatchAlert],
                createdAt: EpochMillis) {
        self.idempotencyKey = idempotencyKey
        self.receiver = receiver
        self.groupKey = groupKey
        self.status = status
        self.groupLabels = groupLabels
        self.commonLabels = commonLabels
        self.commonAnnotations = commonAnnotations
        self.alerts = alerts
        self.createdAt = createdAt
    }
}

/// What the notification log remembers of the last notification of a group: Alertmanager's
/// `nflog`, persisted in `alert_groups` so that a restart neither repeats nor loses one.
public struct NotificationLogEntry: Sendable, Equatable {
    public var firing: Set<String>
    public var resolved: Set<String>
    public var sentAt: EpochMillis
    public init(firing: Set<String>, resolved: Set<String>, sentAt: EpochMillis) {
        self.firing = firing
        self.resolved = resolved
        self.sentAt = sentAt
    }
}

/// Routing, grouping and inhibition in Alertmanager's sense, as a pure function of the alerts
/// and the wall-clock `now`.
///
/// - Each alert goes to its rule's receivers (all receivers when the rule names none), into
///   the group of (receiver, values of `group_by` labels).
/// - A new group is first flushed `group_wait` after it appears, then every `group_interval`.
///   A flush notifies when a firing alert is new to the group, when alerts resolved (receivers
///   with `send_resolved`), when every alert of the group resolved, or when `repeat_interval`
///   passed since the last notification with firing alerts; otherwise it sends nothing.
/// - Inhibition: while an alert of the source severity (`critical`) fires, alerts of a lower
///   severity whose `inhibit_equal` labels are equal are muted (left out of notifications).
/// - Group timers live in memory (a restart waits `group_wait` again); the notification log is
///   persisted, so a restart does not send the same notification twice.
///
/// Costs: O(alerts) per call, plus the log (one entry per group).
public struct AlertDispatcher: Sendable {
    public let config: AlertingConfig
    public let receivers: [ReceiverConfig]
    /// Notification log by group id (`receiver` + group key).
    public private(set) var log: [String: NotificationLogEntry] = [:]
    /// Next flush time by group id.
    public private(set) var nextFlush: [String: EpochMillis] = [:]

    public init(config: AlertingConfig, receivers: [ReceiverConfig]) {
        self.config = config
        self.receivers = receivers
    }

    /// Loads the persisted log.
    public mutating func restore(log: [String: NotificationLogEntry]) { self.log = log }

    /// Group key of `labels` in Alertmanager's form: `{}:{tenant="t1"}`.
    public func groupLabels(_ labels: [String: String]) -> [String: String] {
        var g: [String: String] = [:]
        for k in config.groupBy { if let v = labels[k] { g[k] = v } }
        return g
    }

    public static func groupKey(_ g: [String: String]) -> String {
        "{}:{" + g.keys.sorted().map { "\($0)=\(CanonicalLabels.quote(g[$0]!))" }.joined(separator: ",") + "}"
    }

    /// True when a firing `source` mutes `target`.
    public func inhibits(_ source: DispatchAlert, _ target: DispatchAlert) -> Bool {
        guard let s = config.inhibitSourceSeverity, source.isFiring, source.severity == s,
              let sRank = AlertSeverity.rank(s), let tRank = AlertSeverity.rank(target.severity), tRank > sRank
        else { return false }
        if config.inhibitEqual.isEmpty {
            for (k, v) in source.labels where k != "alertname" && k != "severity" && k != "__name__" {
                if target.labels[k] != v { return false }
            }
            return true
        }
        for k in config.inhibitEqual where source.labels[k] != target.labels[k] { return false }
        return true
    }

    /// The alerts not muted by inhibition.
    public func unmuted(_ alerts: [DispatchAlert]) -> [DispatchAlert] {
        guard let s = config.inhibitSourceSeverity else { return alerts }
        let sources = alerts.filter { $0.isFiring && $0.severity == s }
        if sources.isEmpty { return alerts }
        return alerts.filter { t in !(t.isFiring && sources.contains { inhibits($0, t) }) }
    }

    /// The result of one dispatch.
    public struct Output: Sendable {
        public var notifications: [AlertNotification] = []
        /// Log entries to upsert (value) or delete (nil), by group id.
        public var logChanges: [String: NotificationLogEntry?] = [:]
    }

    /// Routes `alerts` (every firing and resolved alert) and returns the notifications due at `now`.
    public mutating func dispatch(_ alerts: [DispatchAlert], now: EpochMillis) -> Output {
        var out = Output()
        let visible = unmuted(alerts)
        // Partition into groups.
        var groups: [String: (receiver: ReceiverConfig, key: String, labels: [String: String], alerts: [DispatchAlert])] = [:]
        for a in visible {
            let g = groupLabels(a.labels)
            let key = Self.groupKey(g)
            for r in receivers where a.receivers.isEmpty || a.receivers.contains(r.name) {
                let id = r.name + "\u{1F}" + key
                if groups[id] == nil { groups[id] = (r, key, g, []) }
                groups[id]!.alerts.append(a)
            }
        }
        // Groups that disappeared: forget their timer and log.
        for id in Array(nextFlush.keys) where groups[id] == nil { nextFlush[id] = nil }
        for id in Array(log.keys) where groups[id] == nil {
            log[id] = nil
            out.logChanges[id] = .some(nil)
        }
        for id in groups.keys.sorted() {
            let g = groups[id]!
            guard let due = nextFlush[id] else {
                nextFlush[id] = now &+ config.groupWaitMillis
                if config.groupWaitMillis > 0 { continue }
                out = merge(out, dispatchDue(id, g, now: now))
                continue
            }
            if due > now { continue }
            out = merge(out, dispatchDue(id, g, now: now))
        }
        return out
    }

    private func merge(_ a: Output, _ b: Output) -> Output {
        var out = a
        out.notifications += b.notifications
        for (k, v) in b.logChanges { out.logChanges[k] = v }
        return out
    }

    private mutating func dispatchDue(_ id: String,
                                      _ g: (receiver: ReceiverConfig, key: String, labels: [String: String], alerts: [DispatchAlert]),
                                      now: EpochMillis) -> Output {
        var out = Output()
        nextFlush[id] = now &+ config.groupIntervalMillis
        let firing = Set(g.alerts.filter(\.isFiring).map(\.logID))
        let resolved = Set(g.alerts.filter { !$0.isFiring }.map(\.logID))
        let previous = log[id]
        guard needsUpdate(previous, firing: firing, resolved: resolved, sendResolved: g.receiver.sendResolved, now: now)
        else { return out }
        let entry = NotificationLogEntry(firing: firing, resolved: resolved, sentAt: now)
        log[id] = entry
        out.logChanges[id] = .some(entry)
        let sent = g.alerts.filter { $0.isFiring || g.receiver.sendResolved }
            .sorted { ($0.isFiring ? 0 : 1, $0.fingerprint) < ($1.isFiring ? 0 : 1, $1.fingerprint) }
        guard !sent.isEmpty else { return out }
        var key = g.receiver.name + "|" + g.key + "|" + String(now)
        for a in sent { key += "|" + a.logID + (a.isFiring ? "f" : "r") }
        let hash = Array(key.utf8).withUnsafeBytes { ValueHash.hash(bytes: $0) }
        let hash2 = Array(key.utf8).withUnsafeBytes { ValueHash.hash(bytes: $0, seed: 0x2545_F491_4F6C_DD1D) }
        out.notifications.append(AlertNotification(
            idempotencyKey: Self.hex(hash) + Self.hex(hash2), receiver: g.receiver.name, groupKey: g.key,
            status: sent.contains(where: \.isFiring) ? "firing" : "resolved", groupLabels: g.labels,
            commonLabels: Self.common(sent.map(\.labels)), commonAnnotations: Self.common(sent.map(\.annotations)),
            alerts: sent, createdAt: now))
        return out
    }

    /// Alertmanager's `DedupStage.needsUpdate`.
    func needsUpdate(_ previous: NotificationLogEntry?, firing: Set<String>, resolved: Set<String>,
                     sendResolved: Bool, now: EpochMillis) -> Bool {
        guard let p = previous else { return !firing.isEmpty }
        if !firing.isSubset(of: p.firing) { return true }
        if firing.isEmpty && !p.firing.isEmpty { return true }
        if sendResolved && !resolved.isSubset(of: p.resolved) { return true }
        if firing.isEmpty { return false }
        return now &- p.sentAt >= config.repeatIntervalMillis
    }

    static func common(_ sets: [[String: String]]) -> [String: String] {
        guard var c = sets.first else { return [:] }
        for s in sets.dropFirst() { c = c.filter { s[$0.key] == $0.value } }
        return c
    }

    static func hex(_ h: UInt64) -> String {
        let s = String(h, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
