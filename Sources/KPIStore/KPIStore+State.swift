import Foundation
import GRDB
import KPICore

/// The checkpointed state: written with each flush (``KPIStore/Flush/state``), loaded at start
/// and on reload (``loadState(fingerprints:pipelines:)``).
///
/// Tables (migration `v7-state`): `state_meta` (largest event time, next cell serial),
/// `state_metrics` (definition fingerprint and rolling progress per metric), `state_labels`
/// (label sets admitted per metric, in order), `state_cells` (one row per open cell: window or
/// rolling pane), `state_distinct` (one row per exact distinct element), `state_dedupe` (live
/// dedupe keys per pipeline), `state_sequences` (last `seq` per publisher).
///
/// Writes are incremental: a changed cell is one upsert, a new distinct element or dedupe key one
/// insert, a freed cell one delete of its row and its elements (a primary-key range).
extension KPIStore {
    static func write(_ s: StateCheckpoint, db: Database) throws {
        let e = s.engine
        if e.maxEventTimeMoved || !e.cells.isEmpty {
            let meta = try db.cachedStatement(sql: """
                INSERT INTO state_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
                """)
            try meta.execute(arguments: ["max_event_time", e.maxEventTime])
            try meta.execute(arguments: ["next_serial", e.nextSerial])
        }
        for (metric, fp) in e.fingerprints.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: """
                INSERT INTO state_metrics (metric, fingerprint) VALUES (?, ?)
                ON CONFLICT (metric) DO UPDATE SET fingerprint = excluded.fingerprint
                """, arguments: [metric, fp])
        }
        if !e.rollingLastFinal.isEmpty {
            let rolling = try db.cachedStatement(sql: "UPDATE state_metrics SET rolling_last_final = ? WHERE metric = ?")
            for (metric, done) in e.rollingLastFinal { try rolling.execute(arguments: [done, metric]) }
        }
        if !e.labelSets.isEmpty {
            let label = try db.cachedStatement(sql: "INSERT OR IGNORE INTO state_labels (metric, labels) VALUES (?, ?)")
            for l in e.labelSets { try label.execute(arguments: [l.metric, l.labels]) }
        }
        if !e.cells.isEmpty {
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO state_cells (serial, metric, lane, window_start, window_end, labels, samples, sum, min, max,
                                         distinct_mode, estimate, sketch)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (serial) DO UPDATE SET samples = excluded.samples, sum = excluded.sum, min = excluded.min,
                    max = excluded.max, distinct_mode = excluded.distinct_mode, estimate = excluded.estimate,
                    sketch = excluded.sketch
                """)
            let dropElements = try db.cachedStatement(sql: "DELETE FROM state_distinct WHERE serial = ?")
            for c in e.cells {
                let empty = c.samples == 0
                try upsert.execute(arguments: [
                    c.serial, c.metric, c.lane, c.windowStart, c.windowEnd, c.labels, c.samples, c.sum,
                    empty ? nil : c.min, empty ? nil : c.max, c.distinctMode.rawValue,
                    c.estimate.map { Data($0) }, c.sketch.map { Data($0) },
                ])
                // An estimate replaces the exact elements it was built from.
                if c.distinctMode == .estimated { try dropElements.execute(arguments: [c.serial]) }
            }
        }
        if !e.distinctHashes.isEmpty {
            let insert = try db.cachedStatement(sql: "INSERT OR IGNORE INTO state_distinct (serial, hash) VALUES (?, ?)")
            for (serial, h) in zip(e.distinctSerials, e.distinctHashes) {
                try insert.execute(arguments: [serial, Int64(bitPattern: h)])
            }
        }
        if !e.removed.isEmpty {
            let cell = try db.cachedStatement(sql: "DELETE FROM state_cells WHERE serial = ?")
            let elements = try db.cachedStatement(sql: "DELETE FROM state_distinct WHERE serial = ?")
            for serial in e.removed {
                try cell.execute(arguments: [serial])
                try elements.execute(arguments: [serial])
            }
        }
        for d in s.dedupe {
            if !d.keys.isEmpty {
                let upsert = try db.cachedStatement(sql: """
                    INSERT INTO state_dedupe (pipeline, key, last_counted) VALUES (?, ?, ?)
                    ON CONFLICT (pipeline, key) DO UPDATE SET last_counted = max(last_counted, excluded.last_counted)
                    """)
                for (k, t) in zip(d.keys, d.times) {
                    try upsert.execute(arguments: [d.pipeline, Int64(bitPattern: k), t])
                }
            }
            if let cutoff = d.expiredThrough {
                try db.execute(sql: "DELETE FROM state_dedupe WHERE pipeline = ? AND last_counted <= ?",
                               arguments: [d.pipeline, cutoff])
            }
        }
        if !s.sequences.isEmpty {
            let seq = try db.cachedStatement(sql: """
                INSERT INTO state_sequences (src, last) VALUES (?, ?) ON CONFLICT (src) DO UPDATE SET last = excluded.last
                """)
            for (src, last) in s.sequences { try seq.execute(arguments: [src, last]) }
        }
    }

    /// Loads the checkpointed state for a pipeline whose metrics have the definition
    /// `fingerprints` (name → fingerprint) and whose qualification pipelines are `pipelines`.
    ///
    /// The state of a metric that is gone or whose definition changed is deleted first (so it
    /// starts empty), as are the dedupe keys of pipelines that are gone; the rest is returned,
    /// distinct elements and dedupe keys in the order they were stored (dedupe keys oldest first).
    public func loadState(fingerprints: [String: String], pipelines: Set<String>) throws -> PipelineState {
        try pool.write { db in
            var stale: [String] = []
            let stored = try Row.fetchAll(db, sql: "SELECT metric, fingerprint FROM state_metrics")
            for row in stored {
                let metric: String = row["metric"]
                if fingerprints[metric] != row["fingerprint"] { stale.append(metric) }
            }
            // Cells of a metric without a fingerprint row are stale too (a half-known state).
            stale += try String.fetchAll(db, sql: """
                SELECT DISTINCT metric FROM state_cells WHERE metric NOT IN (SELECT metric FROM state_metrics)
                """)
            for metric in stale {
                try db.execute(sql: """
                    DELETE FROM state_distinct WHERE serial IN (SELECT serial FROM state_cells WHERE metric = ?)
                    """, arguments: [metric])
                try db.execute(sql: "DELETE FROM state_cells WHERE metric = ?", arguments: [metric])
                try db.execute(sql: "DELETE FROM state_labels WHERE metric = ?", arguments: [metric])
                try db.execute(sql: "DELETE FROM state_metrics WHERE metric = ?", arguments: [metric])
            }
            let storedPipelines = try String.fetchAll(db, sql: "SELECT DISTINCT pipeline FROM state_dedupe")
            for p in storedPipelines where !pipelines.contains(p) {
                try db.execute(sql: "DELETE FROM state_dedupe WHERE pipeline = ?", arguments: [p])
            }

            var state = PipelineState()
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM state_meta") {
                let key: String = row["key"]
                if key == "max_event_time" { state.engine.maxEventTime = row["value"] }
                if key == "next_serial" { state.engine.nextSerial = row["value"] }
            }
            for row in try Row.fetchAll(db, sql: "SELECT metric, rolling_last_final FROM state_metrics WHERE rolling_last_final IS NOT NULL") {
                state.engine.rollingLastFinal[row["metric"]] = row["rolling_last_final"]
            }
            let labels = try Row.fetchCursor(db, sql: "SELECT metric, labels FROM state_labels ORDER BY id")
            while let row = try labels.next() {
                state.engine.labelSets[row["metric"], default: []].append(row["labels"])
            }
            let cells = try Row.fetchCursor(db, sql: """
                SELECT serial, metric, lane, window_start, window_end, labels, samples, sum, min, max, distinct_mode,
                       estimate, sketch
                FROM state_cells ORDER BY serial
                """)
            while let row = try cells.next() {
                let samples: Int64 = row["samples"]
                let estimate: Data? = row["estimate"]
                let sketch: Data? = row["sketch"]
                state.engine.cells.append(CellCheckpoint(
                    serial: row["serial"], metric: row["metric"], lane: row["lane"], windowStart: row["window_start"],
                    windowEnd: row["window_end"], labels: row["labels"], samples: samples, sum: row["sum"],
                    min: row["min"] ?? .infinity, max: row["max"] ?? -.infinity,
                    distinctMode: CellCheckpoint.DistinctMode(rawValue: row["distinct_mode"]) ?? .none,
                    estimate: estimate.map { [UInt8]($0) }, sketch: sketch.map { [UInt8]($0) }))
            }
            let elements = try Row.fetchCursor(db, sql: "SELECT serial, hash FROM state_distinct")
            var current: Int64 = .min
            var hashes: [UInt64] = []
            while let row = try elements.next() {
                let serial: Int64 = row[0]
                let h: Int64 = row[1]
                if serial != current {
                    if !hashes.isEmpty { state.engine.distinct[current] = hashes }
                    current = serial
                    hashes = []
                }
                hashes.append(UInt64(bitPattern: h))
            }
            if !hashes.isEmpty { state.engine.distinct[current] = hashes }
            let dedupe = try Row.fetchCursor(db, sql: """
                SELECT pipeline, key, last_counted FROM state_dedupe ORDER BY pipeline, last_counted
                """)
            while let row = try dedupe.next() {
                let p: String = row[0]
                let k: Int64 = row[1]
                let t: Int64 = row[2]
                state.dedupe[p, default: ([], [])].keys.append(UInt64(bitPattern: k))
                state.dedupe[p, default: ([], [])].times.append(t)
            }
            for row in try Row.fetchAll(db, sql: "SELECT src, last FROM state_sequences ORDER BY src") {
                state.sequences.append((row["src"], row["last"]))
            }
            return state
        }
    }
}
