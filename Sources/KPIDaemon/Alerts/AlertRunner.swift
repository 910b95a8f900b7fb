import KPICore
import KPINotify
import KPIStore
import Logging

/// Runs alerting after each flush, on the flush writer's queue (never on the ingest thread):
/// the pure ``AlertingStage`` decides, and its state changes, history rows and outbox rows are
/// written in the flush's own transaction. After a commit the outbox delivery is woken.
///
/// Not thread-safe: only the flush writer's serial queue calls ``step(_:now:)``.
public final class AlertRunner: @unchecked Sendable {
    let stage: AlertingStage
    let config: AlertingConfig
    public let delivery: OutboxDelivery?

    /// Restores the state persisted by an earlier run from `store`.
    public init(config: KpidConfig, store: KPIStore, delivery: OutboxDelivery?, logger: Logger) throws {
        self.config = config.alerting
        self.delivery = delivery
        stage = AlertingStage(rules: config.alertRules, receivers: config.receivers, config: config.alerting)
        let saved = try store.loadAlertState()
        let stale = stage.restore(instances: saved.instances, log: saved.log, seen: saved.seen)
        try store.deleteAlertState(stale)
        let active = saved.instances.filter { $0.phase == .firing || $0.phase == .pending }.count
        logger.info("alerting ready", metadata: ["rules": "\(config.alertRules.count)", "receivers": "\(config.receivers.count)",
                                                 "restored_alerts": "\(active)"])
    }

    /// Evaluates the rules over one flush and returns what to write with it (nil when nothing changed).
    func step(_ batch: FlushBatch, now: EpochMillis) -> AlertWrite? {
        let s = stage.step(rows: batch.rows, watermark: batch.watermark, now: now)
        if s.isEmpty { return nil }
        let outbox = s.notifications.map {
            OutboxItem(key: $0.idempotencyKey, receiver: $0.receiver,
                       payload: AlertmanagerPayload.json($0, externalURL: config.externalURL),
                       expiresAt: now + config.outboxExpiryMillis)
        }
        return AlertWrite(step: s, outbox: outbox)
    }

    /// Called after a flush carrying outbox rows committed.
    func committed(_ w: AlertWrite) {
        if !w.outbox.isEmpty { delivery?.notify() }
    }
}
