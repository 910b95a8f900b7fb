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
        return m
    }
}
