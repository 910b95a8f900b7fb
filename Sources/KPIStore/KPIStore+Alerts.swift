import Foundation
import GRDB
import KPICore

/// What alerting writes after one flush, in the flush's transaction: so the state that produced
/// a notification and the notification's outbox row are committed together or not at all.
public struct AlertWrite: Sendable {
    public var step: AlertingStage.Step
    /// The notifications as outbox rows.
    public var outbox: [OutboxItem]
    public init(step: AlertingStage.Step, outbox: [OutboxItem]) {
        self.step = step
        self.outbox = outbox
    }
}

/// A notification to enqueue: its idempotency key, receiver and payload (the Alertmanager v4 JSON).
public struct OutboxItem: Sendable, Equatable {
    public var key: String
    public var receiver: String
    public var payload: String
    public var expiresAt: EpochMillis
    public init(key: String, receiver: String, payload: String, expiresAt: EpochMillis) {
        self.key = key
        self.receiver = receiver
        self.payload = payload
        self.expiresAt = expiresAt
    }
}

/// A row of `outbox`.
public struct StoredOutboxRow: Sendable, Equatable, Codable, FetchableRecord {
    public var id: Int64
    public var idempotencyKey: String
    public var receiver: String
    public var status: String
    public var payload: String
    public var createdAt: String
    public var attempts: Int
    public var nextAttemptAt: Int64
    public var expiresAt: Int64
    public var deliveredAt: String?
    public var lastError: String?
    enum CodingKeys: String, CodingKey {
        case id, receiver, status, payload, attempts
        case idempotencyKey = "idempotency_key"
        case createdAt = "created_at"
        case nextAttemptAt = "next_attempt_at"
        case expiresAt = "expires_at"
        case deliveredAt = "delivered_at"
        case lastError = "last_error"
    }
}

/// A row of the `alerts` history.
public struct StoredAlertHistory: Sendable, Equatable, Codable, FetchableRecord {
    public var id: Int64
    public var rule: String
    public var labels: String
    public var fingerprint: String
    public var state: String
    public var value: Double?
    public var startedAt: String
    public var resolvedAt: String?
    enum CodingKeys: String, CodingKey {
        case id, rule, labels, fingerprint, state, value
        case startedAt = "started_at"
        case resolvedAt = "resolved_at"
    }
}

extension KPIStore {
    static func write(_ w: AlertWrite, db: Database, now: EpochMillis) throws {
        let updatedAt = Timestamp.formatRFC3339(now)
        let c = w.step.changes
        if !c.upserts.isEmpty {
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO alert_state (rule, series, state, labels, fingerprint, value, samples, window_start, window_end,
                    window_final, active_at, fired_at, last_true_at, resolved_at, last_seen, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (rule, series) DO UPDATE SET state = excluded.state, labels = excluded.labels,
                    fingerprint = excluded.fingerprint, value = excluded.value, samples = excluded.samples,
                    window_start = excluded.window_start, window_end = excluded.window_end,
                    window_final = excluded.window_final, active_at = excluded.active_at, fired_at = excluded.fired_at,
                    last_true_at = excluded.last_true_at, resolved_at = excluded.resolved_at,
                    last_seen = excluded.last_seen, updated_at = excluded.updated_at
                """)
            for a in c.upserts {
                try upsert.execute(arguments: [
                    a.rule, a.seriesLabels, a.phase.rawValue, CanonicalLabels.json(a.labels), a.fingerprint, a.value, a.samples,
                    a.windowStart == .min ? nil : a.windowStart, a.windowEnd == .min ? nil : a.windowEnd, a.windowFinal ? 1 : 0,
                    a.activeAt, a.firedAt, a.lastTrueAt, a.resolvedAt, a.lastSeen, updatedAt,
                ])
            }
        }
        if !c.deletions.isEmpty {
            let delete = try db.cachedStatement(sql: "DELETE FROM alert_state WHERE rule = ? AND series = ?")
            for d in c.deletions { try delete.execute(arguments: [d.rule, d.seriesLabels]) }
        }
        if !c.seen.isEmpty {
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO alert_series_seen (metric, period, series, last_seen) VALUES (?, ?, ?, ?)
                ON CONFLICT (metric, period, series) DO UPDATE SET last_seen = excluded.last_seen
                """)
            for x in c.seen { try upsert.execute(arguments: [x.metric, x.period, x.seriesLabels, x.lastSeen]) }
        }
        for a in c.fired {
            try db.execute(sql: """
                INSERT INTO alerts (rule, series, labels, fingerprint, state, value, started_at) VALUES (?, ?, ?, ?, 'firing', ?, ?)
                """, arguments: [a.rule, a.seriesLabels, CanonicalLabels.json(a.labels), a.fingerprint, a.value,
                                 Timestamp.formatRFC3339(a.firedAt ?? now)])
        }
        for a in c.resolved {
            try db.execute(sql: """
                UPDATE alerts SET state = 'resolved', resolved_at = ?, value = ?
                WHERE rule = ? AND series = ? AND resolved_at IS NULL
                """, arguments: [Timestamp.formatRFC3339(a.resolvedAt ?? now), a.value, a.rule, a.seriesLabels])
        }
        for (id, entry) in w.step.logChanges {
            if let e = entry {
                try db.execute(sql: """
                    INSERT INTO alert_groups (id, firing, resolved, sent_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET firing = excluded.firing, resolved = excluded.resolved, sent_at = excluded.sent_at
                    """, arguments: [id, e.firing.sorted().joined(separator: "\n"), e.resolved.sorted().joined(separator: "\n"), e.sentAt])
            } else {
                try db.execute(sql: "DELETE FROM alert_groups WHERE id = ?", arguments: [id])
            }
        }
        try insertOutbox(w.outbox, db: db, now: now)
    }

    static func insertOutbox(_ items: [OutboxItem], db: Database, now: EpochMillis) throws {
        guard !items.isEmpty else { return }
        let insert = try db.cachedStatement(sql: """
            INSERT INTO outbox (idempotency_key, receiver, payload, created_at, next_attempt_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (idempotency_key) DO NOTHING
            """)
        for o in items {
            try insert.execute(arguments: [o.key, o.receiver, o.payload, Timestamp.formatRFC3339(now), now, o.expiresAt])
        }
    }

    /// Enqueues notifications outside a flush (`kpictl notify-test`).
    public func enqueue(_ items: [OutboxItem], now: EpochMillis) throws {
        try pool.write { db in try Self.insertOutbox(items, db: db, now: now) }
    }

    /// The persisted alert instances and notification log, for a restart.
    public func loadAlertState() throws -> (instances: [AlertInstance], log: [String: NotificationLogEntry],
                                            seen: [(metric: String, period: String, seriesLabels: String, lastSeen: EpochMillis)]) {
        try pool.read { db in
            var instances: [AlertInstance] = []
            for row in try Row.fetchAll(db, sql: "SELECT * FROM alert_state") {
                let labels = CanonicalLabels.parse(row["labels"] as String) ?? [:]
                var a = AlertInstance(rule: row["rule"], seriesLabels: row["series"], labels: labels)
                a.phase = AlertPhase(rawValue: row["state"]) ?? .inactive
                a.value = row["value"]
                a.samples = row["samples"]
                a.windowStart = row["window_start"] ?? .min
                a.windowEnd = row["window_end"] ?? .min
                a.windowFinal = (row["window_final"] as Int) != 0
                a.activeAt = row["active_at"]
                a.firedAt = row["fired_at"]
                a.lastTrueAt = row["last_true_at"]
                a.resolvedAt = row["resolved_at"]
                a.lastSeen = row["last_seen"]
                instances.append(a)
            }
            var log: [String: NotificationLogEntry] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT * FROM alert_groups") {
                func set(_ s: String) -> Set<String> { Set(s.split(separator: "\n").map(String.init)) }
                log[row["id"]] = NotificationLogEntry(firing: set(row["firing"]), resolved: set(row["resolved"]), sentAt: row["sent_at"])
            }
            let seen = try Row.fetchAll(db, sql: "SELECT * FROM alert_series_seen").map {
                (metric: $0["metric"] as String, period: $0["period"] as String, seriesLabels: $0["series"] as String,
                 lastSeen: $0["last_seen"] as EpochMillis)
            }
            return (instances, log, seen)
        }
    }

    /// Deletes the state of rules no longer configured.
    public func deleteAlertState(_ keys: [(rule: String, seriesLabels: String)]) throws {
        guard !keys.isEmpty else { return }
        try pool.write { db in
            for k in keys {
                try db.execute(sql: "DELETE FROM alert_state WHERE rule = ? AND series = ?", arguments: [k.rule, k.seriesLabels])
            }
        }
    }

    /// Pending outbox rows of `receiver` due at `now`, oldest first.
    public func dueOutbox(receiver: String, now: EpochMillis, limit: Int = 16) throws -> [StoredOutboxRow] {
        try pool.read { db in
            try StoredOutboxRow.fetchAll(db, sql: """
                SELECT * FROM outbox WHERE status = 'pending' AND receiver = ? AND next_attempt_at <= ?
                ORDER BY next_attempt_at, id LIMIT ?
                """, arguments: [receiver, now, limit])
        }
    }

    /// The earliest `next_attempt_at` of `receiver`'s pending rows.
    public func nextOutboxAttempt(receiver: String) throws -> EpochMillis? {
        try pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending' AND receiver = ?",
                               arguments: [receiver])
        }
    }

    /// Marks a row delivered.
    public func markDelivered(id: Int64, now: EpochMillis) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL WHERE id = ?",
                           arguments: [Timestamp.formatRFC3339(now), id])
        }
    }

    /// Records a failed attempt: retried at `nextAttempt`, or closed with `status` (`failed`, `expired`).
    public func markAttemptFailed(id: Int64, error: String, nextAttempt: EpochMillis?, status: String = "failed") throws {
        try pool.write { db in
            if let next = nextAttempt {
                try db.execute(sql: "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE id = ?",
                               arguments: [next, error, id])
            } else {
                try db.execute(sql: "UPDATE outbox SET attempts = attempts + 1, status = ?, last_error = ? WHERE id = ?",
                               arguments: [status, error, id])
            }
        }
    }

    /// Outbox rows, newest first.
    public func outbox(limit: Int = 100) throws -> [StoredOutboxRow] {
        try pool.read { db in try StoredOutboxRow.fetchAll(db, sql: "SELECT * FROM outbox ORDER BY id DESC LIMIT ?", arguments: [limit]) }
    }

    /// Current pending and firing alerts (`alert_state`), as (rule, state, labels, value, since).
    public func currentAlerts() throws -> [(rule: String, state: String, labels: String, value: Double?, since: EpochMillis?)] {
        try pool.read { db in
            try Row.fetchAll(db, sql: """
                SELECT rule, state, labels, value, COALESCE(fired_at, active_at) AS since FROM alert_state
                WHERE state IN ('pending', 'firing') ORDER BY state DESC, rule, labels
                """).map { ($0["rule"], $0["state"], $0["labels"], $0["value"], $0["since"]) }
        }
    }

    /// The newest `limit` rows of the `alerts` history.
    public func alertHistory(limit: Int = 20) throws -> [StoredAlertHistory] {
        try pool.read { db in
            try StoredAlertHistory.fetchAll(db, sql: "SELECT * FROM alerts ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
    }
}
