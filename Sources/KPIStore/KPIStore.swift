import Foundation
import GRDB
import KPICore

/// Errors of the SQLite store, with the path they concern.
public struct StoreError: Error, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }
}

/// kpid's SQLite database: the `aggregates`, `rejects`, `counters` and `kpid_meta` tables.
///
/// It opens the file in WAL mode through a GRDB `DatabasePool`, so that readers (dashboards,
/// `sqlite3`, `kpictl query`) never block the daemon's writes and never see a half-written flush.
/// The file is created with mode 0640. All writes of one flush happen in one transaction with
/// cached prepared statements (GRDB upserts ≈500k rows/s on this kind of machine).
///
/// Thread safety: `DatabasePool` serialises writes; call ``write(_:)`` from one writer.
public final class KPIStore: Sendable {
    public let path: String
    let pool: DatabasePool
    /// A connection of its own for WAL checkpoints (see ``checkpointWAL()``); nil when read-only.
    let checkpointer: DatabaseQueue?

    /// The page size of a database kpid creates: SQLite's largest, so that a journaled message
    /// (tens of KB of NDJSON) is one page rather than a chain of overflow pages; with the journal on,
    /// 64 KiB gave 1.41 M events/s against 1.05 M with 16 KiB (docs/benchmarks.md (c)).
    public static let pageSize = 65_536

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String, readOnly: Bool = false) throws {
        self.path = path
        let fm = FileManager.default
        let existed = fm.fileExists(atPath: path)
        if !readOnly, !existed {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty { try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            // Create the file ourselves so that its mode is 0640 whatever the umask is.
            guard fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o640]) else {
                throw StoreError(path: path, message: "cannot create the database file")
            }
        }
        var config = Configuration()
        config.readonly = readOnly
        config.busyMode = .timeout(5)
        config.label = "kpid"
        // `pageSize` pages for a new file (SQLite ignores it for an existing one, and once in WAL
        // mode): a journal row of a 25 KB NDJSON message then fits one page, and every page
        // costs two writes to the WAL and one more at the checkpoint (see `pageSize`).
        config.prepareDatabase { db in if !readOnly { try db.execute(sql: "PRAGMA page_size = \(Self.pageSize)") } }
        do {
            pool = try DatabasePool(path: path, configuration: config)
            if !readOnly {
                try Schema.migrator.migrate(pool)
                checkpointer = try Self.openCheckpointer(pool, path: path)
            } else {
                checkpointer = nil
            }
        } catch {
            throw StoreError(path: path, message: "\(error)")
        }
    }

    /// What one flush writes, in one transaction.
    public struct Flush: Sendable {
        public var batch: FlushBatch
        public var counters: [CounterDelta]
        public var rejects: [RejectSample]
        /// Wall-clock time of the flush, for `updated_at`.
        public var now: EpochMillis
        /// Qualified events to append to `qualified_events`.
        public var qualified: [QualifiedEvent]
        /// Per pipeline: delete its logged events with `ts` before this.
        public var qualifiedCutoffs: [String: EpochMillis]
        /// Alert state, history, notification log and outbox rows produced by this flush.
        public var alerts: AlertWrite?
        /// What changed in the in-memory state (see `KPIStore+State.swift`), written in the same
        /// transaction so that the stored state always matches the stored rows.
        public var state: StateCheckpoint?
        /// The last journal `seq` whose message this flush's state covers, stored in
        /// `journal_checkpoint` in the same transaction (nil: unchanged).
        public var journalPosition: Int64?
        public init(batch: FlushBatch, counters: [CounterDelta] = [], rejects: [RejectSample] = [], now: EpochMillis,
                    qualified: [QualifiedEvent] = [], qualifiedCutoffs: [String: EpochMillis] = [:]) {
            self.batch = batch
            self.counters = counters
            self.rejects = rejects
            self.now = now
            self.qualified = qualified
            self.qualifiedCutoffs = qualifiedCutoffs
        }

        /// True when writing the flush would change nothing in the database.
        public var isEmpty: Bool {
            batch.rows.isEmpty && counters.isEmpty && rejects.isEmpty && qualified.isEmpty && qualifiedCutoffs.isEmpty
                && alerts == nil && (state?.isEmpty ?? true) && journalPosition == nil
        }
    }

    /// Writes one flush in a single transaction: upserts every aggregate row (a final row is never
    /// changed again), adds the counter deltas, and appends the reject samples. Returns the time
    /// the state checkpoint took within it (nil without one).
    @discardableResult
    public func write(_ flush: Flush) throws -> Duration? {
        let updatedAt = Timestamp.formatRFC3339(flush.now)
        return try pool.write { db -> Duration? in
            if !flush.batch.rows.isEmpty {
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO aggregates (metric, period, window_start, window_end, labels, value, samples, final, updated_at,
                                            estimated, reason, numerator, denominator)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (metric, period, window_start, labels) DO UPDATE SET
                        window_end = excluded.window_end, value = excluded.value, samples = excluded.samples,
                        final = excluded.final, updated_at = excluded.updated_at, estimated = excluded.estimated,
                        reason = excluded.reason, numerator = excluded.numerator, denominator = excluded.denominator
                    WHERE aggregates.final = 0
                    """)
                for r in flush.batch.rows {
                    try upsert.execute(arguments: [
                        r.metric, r.period, Timestamp.formatRFC3339(r.windowStart), Timestamp.formatRFC3339(r.windowEnd),
                        r.labels, r.value, r.samples, r.isFinal ? 1 : 0, updatedAt, r.estimated ? 1 : 0,
                        r.reason, r.numerator, r.denominator,
                    ])
                }
            }
            if !flush.counters.isEmpty {
                let add = try db.cachedStatement(sql: """
                    INSERT INTO counters (name, labels, value, updated_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (name, labels) DO UPDATE SET value = value + excluded.value, updated_at = excluded.updated_at
                    """)
                for c in flush.counters where c.delta != 0 {
                    try add.execute(arguments: [c.name, c.labels, c.delta, updatedAt])
                }
            }
            if !flush.rejects.isEmpty {
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO rejects (received_at, reason, source, metric, detail, sample) VALUES (?, ?, ?, ?, ?, ?)
                    """)
                for s in flush.rejects {
                    try insert.execute(arguments: [
                        Timestamp.formatRFC3339(s.receivedAt), s.reason.rawValue, s.source, s.metric, s.detail, Data(s.sample),
                    ])
                }
            }
            if !flush.qualified.isEmpty {
                let insert = try db.cachedStatement(sql: """
                    INSERT INTO qualified_events (pipeline, ts, ts_ms, fields) VALUES (?, ?, ?, ?)
                    """)
                for q in flush.qualified {
                    try insert.execute(arguments: [q.pipeline, Timestamp.formatRFC3339(q.timestamp), q.timestamp, q.fields])
                }
            }
            for (pipeline, cutoff) in flush.qualifiedCutoffs {
                try db.execute(sql: "DELETE FROM qualified_events WHERE pipeline = ? AND ts_ms < ?", arguments: [pipeline, cutoff])
            }
            if let alerts = flush.alerts { try Self.write(alerts, db: db, now: flush.now) }
            if let position = flush.journalPosition { try Self.writeJournalPosition(position, db: db) }
            guard let state = flush.state else { return nil }
            let started = ContinuousClock.now
            try Self.write(state, db: db)
            return ContinuousClock.now - started
        }
    }

    /// Keeps only the newest `keep` samples per reason in `rejects`.
    public func pruneRejects(keepPerReason keep: Int) throws {
        try pool.write { db in
            try db.execute(sql: """
                DELETE FROM rejects WHERE id IN (
                    SELECT id FROM (
                        SELECT id, ROW_NUMBER() OVER (PARTITION BY reason ORDER BY id DESC) AS n FROM rejects
                    ) WHERE n > ?
                )
                """, arguments: [keep])
        }
    }

    /// Reads aggregate rows of `metric`, optionally of one period, with windows starting in
    /// `[from, to)` (RFC 3339 text compares in time order because it is always UTC with `Z`),
    /// and whose labels contain every `labels` pair.
    public func aggregates(metric: String? = nil, period: String? = nil, from: EpochMillis? = nil, to: EpochMillis? = nil,
                           labels: [String: String] = [:]) throws -> [StoredAggregate] {
        var sql = "SELECT * FROM aggregates WHERE 1"
        var args: [(any DatabaseValueConvertible)?] = []
        if let metric { sql += " AND metric = ?"; args.append(metric) }
        if let period { sql += " AND period = ?"; args.append(period) }
        if let from { sql += " AND window_start >= ?"; args.append(Timestamp.formatRFC3339(from)) }
        if let to { sql += " AND window_start < ?"; args.append(Timestamp.formatRFC3339(to)) }
        for (k, v) in labels.sorted(by: { $0.key < $1.key }) {
            sql += " AND json_extract(labels, ?) = ?"
            args.append("$.\"\(k)\"")
            args.append(v)
        }
        sql += " ORDER BY metric, period, window_start, labels"
        return try pool.read { db in
            try StoredAggregate.fetchAll(db, sql: sql, arguments: StatementArguments(args))
        }
    }

    /// Every health counter.
    public func counters() throws -> [StoredCounter] {
        try pool.read { db in try StoredCounter.fetchAll(db, sql: "SELECT * FROM counters ORDER BY name, labels") }
    }

    /// The newest reject samples, at most `limit`.
    public func rejects(limit: Int = 100) throws -> [StoredReject] {
        try pool.read { db in
            try StoredReject.fetchAll(db, sql: "SELECT * FROM rejects ORDER BY id DESC LIMIT ?", arguments: [limit])
        }
    }

    /// The journal mode SQLite reports (`wal` once opened for writing).
    public func journalMode() throws -> String {
        try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    /// The names of the applied migrations.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Array(Schema.migrator.appliedIdentifiers(db)) }
    }
}
