import Foundation
import KPICore
import KPINotify
import KPIStore
import XCTest

final class AlertStoreTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpid-alerts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A flush with an alert that fires at once and a webhook receiver without group wait.
    func firingFlush(_ stage: AlertingStage, now: EpochMillis) -> KPIStore.Flush {
        var batch = FlushBatch(watermark: 30_000)
        batch.rows = [row(["tenant": "t1"], value: 0.2, start: 0)]
        let step = stage.step(rows: batch.rows, watermark: batch.watermark, now: now)
        let outbox = step.notifications.map {
            OutboxItem(key: $0.idempotencyKey, receiver: $0.receiver, payload: AlertmanagerPayload.json($0, externalURL: "http://x"),
                       expiresAt: now + 86_400_000)
        }
        var f = KPIStore.Flush(batch: batch, now: now)
        f.alerts = AlertWrite(step: step, outbox: outbox)
        return f
    }

    func stage() -> AlertingStage {
        var c = AlertingConfig()
        c.groupWaitMillis = 0
        return AlertingStage(rules: [rule(keep: 600_000)], receivers: [ReceiverConfig(name: "hook", kind: .webhook)], config: c)
    }

    func testStateHistoryLogAndOutboxAreWrittenWithTheFlushAndSurviveAReopen() throws {
        let path = dir.appendingPathComponent("a.db").path
        do {
            let store = try KPIStore(path: path)
            try store.write(firingFlush(stage(), now: 1_000))
            XCTAssertEqual(try store.aggregates(metric: "err_rate").count, 1)
        }
        let store = try KPIStore(path: path)
        let saved = try store.loadAlertState()
        XCTAssertEqual(saved.instances.count, 1)
        XCTAssertEqual(saved.instances[0].phase, .firing)
        XCTAssertEqual(saved.instances[0].lastTrueAt, 30_000)
        XCTAssertEqual(saved.instances[0].labels["tenant"], "t1")
        XCTAssertEqual(saved.log.count, 1)
        let history = try store.alertHistory()
        XCTAssertEqual(history.map(\.state), ["firing"])
        XCTAssertEqual(history.first?.startedAt, "1970-01-01T00:00:30Z")
        let due = try store.dueOutbox(receiver: "hook", now: 1_000)
        XCTAssertEqual(due.count, 1)
        XCTAssertEqual(due[0].status, "pending")
        XCTAssertEqual(due[0].expiresAt, 1_000 + 86_400_000)

        // A restarted stage with the saved state sends nothing new for the same alert.
        let restarted = stage()
        XCTAssertTrue(restarted.restore(instances: saved.instances, log: saved.log).isEmpty)
        let again = restarted.step(rows: [], watermark: 40_000, now: 2_000)
        XCTAssertTrue(again.notifications.isEmpty)
        XCTAssertTrue(again.changes.fired.isEmpty)
    }

    func testOutboxRetryThenDeliveryAndPermanentFailure() throws {
        let store = try KPIStore(path: dir.appendingPathComponent("b.db").path)
        try store.enqueue([OutboxItem(key: "k1", receiver: "hook", payload: "{}", expiresAt: 10_000),
                           OutboxItem(key: "k2", receiver: "hook", payload: "{}", expiresAt: 10_000),
                           OutboxItem(key: "k1", receiver: "hook", payload: "{}", expiresAt: 10_000)], now: 0)
        var due = try store.dueOutbox(receiver: "hook", now: 0)
        XCTAssertEqual(due.map(\.idempotencyKey), ["k1", "k2"], "a key is enqueued once")
        try store.markAttemptFailed(id: due[0].id, error: "HTTP 503", nextAttempt: 5_000)
        due = try store.dueOutbox(receiver: "hook", now: 1_000)
        XCTAssertEqual(due.map(\.idempotencyKey), ["k2"])
        try store.markAttemptFailed(id: due[0].id, error: "HTTP 400", nextAttempt: nil)
        XCTAssertEqual(try store.nextOutboxAttempt(receiver: "hook"), 5_000)
        let k1 = try XCTUnwrap(try store.dueOutbox(receiver: "hook", now: 5_000).first)
        XCTAssertEqual(k1.attempts, 1)
        try store.markDelivered(id: k1.id, now: 5_000)
        let all = try store.outbox()
        XCTAssertEqual(Dictionary(uniqueKeysWithValues: all.map { ($0.idempotencyKey, $0.status) }), ["k1": "delivered", "k2": "failed"])
        XCTAssertEqual(all.first { $0.idempotencyKey == "k1" }?.attempts, 2)
    }

    func testBackoffDoublesUpToTheCapWithJitter() {
        XCTAssertEqual(OutboxDelivery.backoff(attempts: 1, initial: 1_000, max: 60_000, jitter: 0.5), 1_000)
        XCTAssertEqual(OutboxDelivery.backoff(attempts: 3, initial: 1_000, max: 60_000, jitter: 0.5), 4_000)
        XCTAssertEqual(OutboxDelivery.backoff(attempts: 20, initial: 1_000, max: 60_000, jitter: 0.5), 60_000)
        XCTAssertEqual(OutboxDelivery.backoff(attempts: 1, initial: 1_000, max: 60_000, jitter: 0), 800)
        XCTAssertEqual(OutboxDelivery.backoff(attempts: 1, initial: 1_000, max: 60_000, jitter: 0.999), 1_199)
    }
}
