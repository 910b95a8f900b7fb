import Foundation
import KPICore
import KPIStore
import Logging
import Metrics
import ServiceLifecycle
import Synchronization

/// Drains the `outbox` table: one worker per receiver, so an unreachable receiver delays only
/// its own notifications, never the others or ingest.
///
/// Each worker sends its due rows oldest first. A delivered row is marked delivered; a
/// permanent failure (4xx) is marked failed, logged and counted; anything else is retried at
/// `initial × 2^(attempts-1)` (capped at `max`) with ±20 % jitter, until `expires_at`, when the
/// row is marked expired. Rows are read back from SQLite, so a restart resumes where it stopped.
///
/// Every attempt is counted in `kpid_notifications_total{receiver, outcome}` (swift-metrics;
/// kpid serves it on `/metrics`), `outcome` one of `delivered`, `retry`, `failed`, `expired`.
public final class OutboxDelivery: Service, Sendable {
    let store: KPIStore
    let senders: [String: any NotificationSender]
    let config: AlertingConfig
    let logger: Logger
    let clock: any WallClock
    /// Bumped by ``notify()``; workers sleeping between polls watch it.
    private let wakeups = Atomic<Int>(0)
    /// Permanent failures, delivered and expired rows since start.
    public let permanentFailures = Atomic<Int>(0)
    public let delivered = Atomic<Int>(0)
    public let expired = Atomic<Int>(0)
    /// How often a worker looks for new rows when not woken (default 200 ms).
    let pollMillis: Int64

    public init(store: KPIStore, senders: [String: any NotificationSender], config: AlertingConfig, clock: any WallClock,
                logger: Logger, pollMillis: Int64 = 200) {
        self.store = store
        self.senders = senders
        self.config = config
        self.clock = clock
        self.logger = logger
        self.pollMillis = pollMillis
    }

    /// Builds the sender of each receiver: a webhook, direct SMTP (an email receiver with
    /// `smtp`), or the sendmail program. Throws when a webhook's secret file, an SMTP password
    /// file or an SMTP CA file cannot be used.
    public static func senders(for receivers: [ReceiverConfig]) throws -> [String: any NotificationSender] {
        var out: [String: any NotificationSender] = [:]
        for r in receivers {
            switch (r.kind, r.smtp) {
            case (.webhook, _): out[r.name] = try WebhookSender(receiver: r)
            case (.email, let smtp?): out[r.name] = try SMTPSender(receiver: r, settings: smtp)
            case (.email, nil): out[r.name] = SendmailSender(receiver: r)
            }
        }
        return out
    }

    /// Counts one attempt's outcome (the metrics backend caches the counter by name and labels).
    static func count(_ receiver: String, _ outcome: String) {
        Counter(label: "kpid_notifications_total", dimensions: [("receiver", receiver), ("outcome", outcome)]).increment()
    }

    /// Wakes every worker (new rows were committed).
    public func notify() { wakeups.add(1, ordering: .releasing) }

    /// Retry delay after `attempts` failed attempts, with jitter in [0.8, 1.2).
    public static func backoff(attempts: Int, initial: Int64, max: Int64, jitter: Double) -> Int64 {
        let exp = min(attempts - 1, 30)
        let base = min(Double(initial) * pow(2, Double(Swift.max(0, exp))), Double(max))
        return Int64(base * (0.8 + 0.4 * jitter))
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            for name in senders.keys.sorted() {
                group.addTask { await self.worker(name) }
            }
        }
    }

    func worker(_ receiver: String) async {
        guard let sender = senders[receiver] else { return }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            let seen = wakeups.load(ordering: .acquiring)
            await drainOnce(receiver, sender: sender)
            // Sleep until woken or the poll period passes, in 10 ms steps.
            var slept: Int64 = 0
            while slept < pollMillis, wakeups.load(ordering: .acquiring) == seen, !Task.isShuttingDownGracefully {
                try? await Task.sleep(for: .milliseconds(10))
                if Task.isCancelled { return }
                slept += 10
            }
        }
    }

    /// Sends every due row of `receiver` once.
    public func drainOnce(_ receiver: String, sender: any NotificationSender) async {
        let rows: [StoredOutboxRow]
        do { rows = try store.dueOutbox(receiver: receiver, now: clock.nowMillis()) } catch {
            logger.error("outbox read failed", metadata: ["error": "\(error)"])
            return
        }
        for row in rows {
            if Task.isCancelled { return }
            let now = clock.nowMillis()
            if now >= row.expiresAt {
                expired.add(1, ordering: .relaxed)
                Self.count(receiver, "expired")
                logger.error("notification expired", metadata: ["receiver": "\(receiver)", "key": "\(row.idempotencyKey)",
                                                                "attempts": "\(row.attempts)", "error": "\(row.lastError ?? "")"])
                try? store.markAttemptFailed(id: row.id, error: row.lastError ?? "expired", nextAttempt: nil, status: "expired")
                continue
            }
            let outcome = await sender.send(payload: row.payload, idempotencyKey: row.idempotencyKey)
            let after = clock.nowMillis()
            do {
                switch outcome {
                case .delivered:
                    delivered.add(1, ordering: .relaxed)
                    Self.count(receiver, "delivered")
                    try store.markDelivered(id: row.id, now: after)
                    logger.info("notification delivered", metadata: ["receiver": "\(receiver)", "key": "\(row.idempotencyKey)",
                                                                      "attempts": "\(row.attempts + 1)"])
                case .permanent(let e):
                    permanentFailures.add(1, ordering: .relaxed)
                    Self.count(receiver, "failed")
                    try store.markAttemptFailed(id: row.id, error: e, nextAttempt: nil)
                    logger.error("notification failed permanently", metadata: ["receiver": "\(receiver)", "key": "\(row.idempotencyKey)", "error": "\(e)"])
                case .retry(let e):
                    Self.count(receiver, "retry")
                    let delay = Self.backoff(attempts: row.attempts + 1, initial: config.retryInitialMillis,
                                             max: config.retryMaxMillis, jitter: Double.random(in: 0..<1))
                    try store.markAttemptFailed(id: row.id, error: e, nextAttempt: after + delay)
                    logger.warning("notification attempt failed; will retry",
                                   metadata: ["receiver": "\(receiver)", "key": "\(row.idempotencyKey)", "error": "\(e)",
                                              "retry_in_ms": "\(delay)"])
                    return // keep this receiver's order; try again after the backoff
                }
            } catch {
                logger.error("outbox update failed", metadata: ["error": "\(error)"])
                return
            }
        }
    }
}
