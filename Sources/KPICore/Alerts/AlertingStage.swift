/// Evaluation and dispatch together: what kpid runs after each flush (on the store writer's
/// queue, not the ingest thread). Pure: rows, watermark and the wall clock in; state changes,
/// notification-log changes and notifications out, for the store to write in the flush's
/// transaction.
public final class AlertingStage {
    public let evaluator: AlertEvaluator
    public private(set) var dispatcher: AlertDispatcher
    private let ruleByName: [String: AlertRule]

    /// Everything one step produced.
    public struct Step: Sendable {
        public var changes = AlertEvaluator.Changes()
        public var notifications: [AlertNotification] = []
        public var logChanges: [String: NotificationLogEntry?] = [:]
        public var isEmpty: Bool { changes.isEmpty && notifications.isEmpty && logChanges.isEmpty }
    }

    public init(rules: [AlertRule], receivers: [ReceiverConfig], config: AlertingConfig) {
        evaluator = AlertEvaluator(rules: rules, config: config)
        dispatcher = AlertDispatcher(config: config, receivers: receivers)
        var byName: [String: AlertRule] = [:]
        for r in rules { byName[r.name] = r }
        ruleByName = byName
    }

    /// Restores persisted state; returns instances of rules no longer configured (to delete).
    public func restore(instances: [AlertInstance], log: [String: NotificationLogEntry],
                        seen: [(metric: String, period: String, seriesLabels: String, lastSeen: EpochMillis)] = [])
        -> [(rule: String, seriesLabels: String)] {
        dispatcher.restore(log: log)
        evaluator.restoreSeen(seen)
        return evaluator.restore(instances)
    }

    /// One step after a flush.
    public func step(rows: [AggregateRow], watermark: EpochMillis, now: EpochMillis) -> Step {
        var s = Step()
        s.changes = evaluator.evaluate(rows: rows, watermark: watermark, now: now)
        let out = dispatcher.dispatch(dispatchAlerts(), now: now)
        s.notifications = out.notifications
        s.logChanges = out.logChanges
        return s
    }

    /// Firing and resolved alerts with their annotations rendered.
    public func dispatchAlerts() -> [DispatchAlert] {
        evaluator.activeInstances.compactMap { a in
            guard let rule = ruleByName[a.rule] else { return nil }
            return DispatchAlert(a, annotations: evaluator.annotations(of: a), receivers: rule.receivers,
                                 severity: rule.severity)
        }
    }
}
