import GRDB

/// The SQLite schema of kpid: one migrator, migrations registered in order and never edited
/// once shipped. A newer kpid opens an older database by running the migrations it lacks.
///
/// The schema is a contract with dashboards and scripts; the README documents every column.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1-aggregates-rejects-counters") { db in
            try db.execute(sql: """
                CREATE TABLE aggregates (
                    metric       TEXT    NOT NULL,
                    period       TEXT    NOT NULL,
                    window_start TEXT    NOT NULL,
                    window_end   TEXT    NOT NULL,
                    labels       TEXT    NOT NULL DEFAULT '{}',
                    value        REAL,
                    samples      INTEGER NOT NULL,
                    final        INTEGER NOT NULL DEFAULT 0 CHECK (final IN (0, 1)),
                    updated_at   TEXT    NOT NULL,
                    PRIMARY KEY (metric, period, window_start, labels)
                ) WITHOUT ROWID;
                CREATE INDEX aggregates_by_end ON aggregates (metric, period, window_end);

                CREATE TABLE rejects (
                    id          INTEGER PRIMARY KEY,
                    received_at TEXT NOT NULL,
                    reason      TEXT NOT NULL,
                    source      TEXT NOT NULL,
                    metric      TEXT,
                    detail      TEXT,
                    sample      BLOB NOT NULL
                );
                CREATE INDEX rejects_by_reason ON rejects (reason, id);

                CREATE TABLE counters (
                    name       TEXT    NOT NULL,
                    labels     TEXT    NOT NULL DEFAULT '{}',
                    value      INTEGER NOT NULL,
                    updated_at TEXT    NOT NULL,
                    PRIMARY KEY (name, labels)
                ) WITHOUT ROWID;

                CREATE TABLE kpid_meta (
                    key   TEXT PRIMARY KEY,
                    value TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        m.registerMigration("v2-qualified-events") { db in
            try db.execute(sql: """
                CREATE TABLE qualified_events (
                    id       INTEGER PRIMARY KEY,
                    pipeline TEXT    NOT NULL,
                    ts       TEXT    NOT NULL,
                    ts_ms    INTEGER NOT NULL,
                    fields   TEXT    NOT NULL DEFAULT '{}'
                );
                CREATE INDEX qualified_events_by_ts ON qualified_events (pipeline, ts_ms);
                """)
        }
        m.registerMigration("v3-alerts-outbox") { db in
            try db.execute(sql: """
                CREATE TABLE alert_state (
                    rule         TEXT    NOT NULL,
                    series       TEXT    NOT NULL,
                    state        TEXT    NOT NULL CHECK (state IN ('inactive', 'pending', 'firing', 'resolved')),
                    labels       TEXT    NOT NULL,
                    fingerprint  TEXT    NOT NULL,
                    value        REAL,
                    samples      INTEGER NOT NULL DEFAULT 0,
                    window_start INTEGER,
                    window_end   INTEGER,
                    window_final INTEGER NOT NULL DEFAULT 0,
                    active_at    INTEGER,
                    fired_at     INTEGER,
                    last_true_at INTEGER,
                    resolved_at  INTEGER,
                    last_seen    INTEGER,
                    updated_at   TEXT    NOT NULL,
                    PRIMARY KEY (rule, series)
                ) WITHOUT ROWID;

                CREATE TABLE alerts (
                    id          INTEGER PRIMARY KEY,
                    rule        TEXT NOT NULL,
                    series      TEXT NOT NULL,
                    labels      TEXT NOT NULL,
                    fingerprint TEXT NOT NULL,
                    state       TEXT NOT NULL CHECK (state IN ('firing', 'resolved')),
                    value       REAL,
                    started_at  TEXT NOT NULL,
                    resolved_at TEXT
                );
                CREATE INDEX alerts_open ON alerts (rule, series, resolved_at);

                CREATE TABLE alert_series_seen (
                    metric    TEXT    NOT NULL,
                    period    TEXT    NOT NULL,
                    series    TEXT    NOT NULL,
                    last_seen INTEGER NOT NULL,
                    PRIMARY KEY (metric, period, series)
                ) WITHOUT ROWID;

                CREATE TABLE alert_groups (
                    id       TEXT    PRIMARY KEY,
                    firing   TEXT    NOT NULL,
                    resolved TEXT    NOT NULL,
                    sent_at  INTEGER NOT NULL
                ) WITHOUT ROWID;

                CREATE TABLE outbox (
                    id              INTEGER PRIMARY KEY,
                    idempotency_key TEXT    NOT NULL UNIQUE,
                    receiver        TEXT    NOT NULL,
                    status          TEXT    NOT NULL DEFAULT 'pending'
                                    CHECK (status IN ('pending', 'delivered', 'failed', 'expired')),
                    payload         TEXT    NOT NULL,
                    created_at      TEXT    NOT NULL,
                    attempts        INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    expires_at      INTEGER NOT NULL,
                    delivered_at    TEXT,
                    last_error      TEXT
                );
                CREATE INDEX outbox_due ON outbox (status, receiver, next_attempt_at);
                """)
        }
        m.registerMigration("v4-estimated") { db in
            // 1 when the value is an estimate: a quantile (sketch, within 1%) or a distinct count
            // above the metric's distinct_exact_max (HyperLogLog).
            try db.execute(sql: """
                ALTER TABLE aggregates ADD COLUMN estimated INTEGER NOT NULL DEFAULT 0 CHECK (estimated IN (0, 1));
                """)
        }
        // Derived metrics: why a row has no value, and the two values a ratio was computed from.
        m.registerMigration("v5-derived") { db in
            try db.execute(sql: """
                ALTER TABLE aggregates ADD COLUMN reason TEXT;
                ALTER TABLE aggregates ADD COLUMN numerator REAL;
                ALTER TABLE aggregates ADD COLUMN denominator REAL;
                """)
        }
        // The event journal (README "Event journal"): received messages, and the position the
        // last checkpoint covers. `frames` is encoded as described in KPIStore+Journal.swift.
        m.registerMigration("v6-journal") { db in
            try db.execute(sql: """
                CREATE TABLE journal (
                    seq         INTEGER PRIMARY KEY,
                    source      TEXT    NOT NULL,
                    publisher   TEXT,
                    received_at INTEGER NOT NULL,
                    frames      BLOB    NOT NULL
                );
                CREATE TABLE journal_checkpoint (
                    id       INTEGER PRIMARY KEY CHECK (id = 1),
                    position INTEGER NOT NULL
                );
                """)
        }
        // The checkpointed in-memory state (see KPIStore+State.swift), written in each flush's
        // transaction: what a restart loads to resume exactly where the last flush left off.
        m.registerMigration("v7-state") { db in
            try db.execute(sql: """
                CREATE TABLE state_meta (
                    key   TEXT PRIMARY KEY,
                    value INTEGER NOT NULL
                );
                CREATE TABLE state_metrics (
                    metric             TEXT PRIMARY KEY,
                    fingerprint        TEXT NOT NULL,
                    rolling_last_final INTEGER
                );
                CREATE TABLE state_labels (
                    id     INTEGER PRIMARY KEY,
                    metric TEXT NOT NULL,
                    labels TEXT NOT NULL,
                    UNIQUE (metric, labels)
                );
                CREATE TABLE state_cells (
                    serial        INTEGER PRIMARY KEY,
                    metric        TEXT NOT NULL,
                    lane          INTEGER NOT NULL,
                    window_start  INTEGER NOT NULL,
                    window_end    INTEGER NOT NULL,
                    labels        TEXT NOT NULL,
                    samples       INTEGER NOT NULL,
                    sum           REAL NOT NULL,
                    min           REAL,
                    max           REAL,
                    distinct_mode INTEGER NOT NULL,
                    estimate      BLOB,
                    sketch        BLOB
                );
                CREATE INDEX state_cells_by_metric ON state_cells (metric);
                CREATE TABLE state_distinct (
                    id     INTEGER PRIMARY KEY,
                    serial INTEGER NOT NULL,
                    hashes BLOB NOT NULL
                );
                CREATE INDEX state_distinct_by_cell ON state_distinct (serial);
                CREATE TABLE state_dedupe (
                    id       INTEGER PRIMARY KEY,
                    pipeline TEXT NOT NULL,
                    newest   INTEGER NOT NULL,
                    keys     BLOB NOT NULL,
                    times    BLOB NOT NULL
                );
                CREATE INDEX state_dedupe_by_newest ON state_dedupe (pipeline, newest);
                CREATE TABLE state_sequences (
                    src  TEXT PRIMARY KEY,
                    last INTEGER NOT NULL
                );
                """)
        }
        // Compressed journal rows (`[journal] compression`): `raw_bytes` is NULL when `frames` is
        // stored as encoded (every row an older kpid wrote), else `frames` is an LZ4 block that
        // decompresses to exactly `raw_bytes` bytes of that encoding.
        m.registerMigration("v8-journal-compression") { db in
            try db.execute(sql: "ALTER TABLE journal ADD COLUMN raw_bytes INTEGER")
        }
        return m
    }
}
