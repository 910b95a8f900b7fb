import Foundation
import GRDB
import KPICore

/// The checkpointed state: written with each flush (``KPIStore/Flush/state``), loaded at start
/// and on reload (``loadState(fingerprints:pipelines:)``).
///
/// Tables (migration `v7-state`): `state_meta` (largest event time, next cell serial, dedupe
/// expiry per pipeline), `state_metrics` (definition fingerprint and rolling progress per
/// metric), `state_labels` (label sets admitted per metric, in order), `state_cells` (one row per
/// open cell: window or rolling pane), `state_distinct` (the exact distinct elements of a cell,
/// one row per cell and flush that added any: packed little-endian 64-bit hashes),
/// `state_dedupe` (the dedupe keys a pipeline counted in one flush, packed, with the newest time
/// among them), `state_sequences` (last `seq` per publisher).
///
/// Writes are incremental and cost rows per flush, not per element: a changed cell is one
/// upsert, the elements a flush added to a cell one insert, the keys a flush counted one insert
/// per pipeline; a freed cell is one delete of its row and its chunks, and a dedupe chunk is
/// deleted once its newest key has expired. A million-element weekly set is never rewritten,
/// and loading it reads a few hundred blobs rather than a million rows.
extension KPIStore {
    static func write(_ s: StateCheckpoint, db: Database) throws {
        let e = s.engine
        let meta = try db.cachedStatement(sql: """
            INSERT INTO state_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """)
        if e.maxEventTimeMoved || !e.cells.isEmpty {
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
            // One chunk per cell: the elements it gained in this flush.
            var order: [Int64] = []
            var chunks: [Int64: [UInt64]] = [:]
            for (serial, h) in zip(e.distinctSerials, e.distinctHashes) {
                if chunks[serial] == nil { order.append(serial) }
                chunks[serial, default: []].append(h)
            }
            let insert = try db.cachedStatement(sql: "INSERT INTO state_distinct (serial, hashes) VALUES (?, ?)")
            for serial in order { try insert.execute(arguments: [serial, Self.pack(chunks[serial]!)]) }
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
                try db.cachedStatement(sql: "INSERT INTO state_dedupe (pipeline, newest, keys, times) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [d.pipeline, d.times.max()!, Self.pack(d.keys),
                                         Self.pack(d.times.map { UInt64(bitPattern: $0) })])
            }
            if let cutoff = d.expiredThrough {
                // A chunk goes once all its keys expired; the cutoff filters the others' expired keys at load.
                try db.execute(sql: "DELETE FROM state_dedupe WHERE pipeline = ? AND newest <= ?", arguments: [d.pipeline, cutoff])
                try meta.execute(arguments: [Self.dedupeCutoffKey + d.pipeline, cutoff])
            }
        }
        if !s.sequences.isEmpty {
            let seq = try db.cachedStatement(sql: """
                INSERT INTO state_sequences (src, last) VALUES (?, ?) ON CONFLICT (src) DO UPDATE SET last = excluded.last
                """)
            for (src, last) in s.sequences { try seq.execute(arguments: [src, last]) }
        }
    }

    static let dedupeCutoffKey = "dedupe_expired_through:"

    /// Loads the checkpointed state for a pipeline whose metrics have the definition
    /// `fingerprints` (name → fingerprint) and whose qualification pipelines are `pipelines`.
    ///
    /// The state of a metric that is gone or whose definition changed is deleted first (so it
    /// starts empty), as are the dedupe keys of pipelines that are gone; the rest is returned:
    /// distinct elements per cell, and per pipeline the dedupe keys not expired, in the order they
    /// were counted (a key counted again appears again, later).
    public func loadState(fingerprints: [String: String], pipelines: Set<String>) throws -> PipelineState {
        try pool.write { db in
            var stale: [String] = []
            for row in try Row.fetchAll(db, sql: "SELECT metric, fingerprint FROM state_metrics") {
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
            for p in try String.fetchAll(db, sql: "SELECT DISTINCT pipeline FROM state_dedupe") where !pipelines.contains(p) {
                try db.execute(sql: "DELETE FROM state_dedupe WHERE pipeline = ?", arguments: [p])
            }

            var state = PipelineState()
            var cutoffs: [String: Int64] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT key, value FROM state_meta") {
                let key: String = row["key"]
                if key == "max_event_time" { state.engine.maxEventTime = row["value"] }
                if key == "next_serial" { state.engine.nextSerial = row["value"] }
                if key.hasPrefix(Self.dedupeCutoffKey) { cutoffs[String(key.dropFirst(Self.dedupeCutoffKey.count))] = row["value"] }
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
                let estimate: Data? = row["estimate"]
                let sketch: Data? = row["sketch"]
                state.engine.cells.append(CellCheckpoint(
                    serial: row["serial"], metric: row["metric"], lane: row["lane"], windowStart: row["window_start"],
                    windowEnd: row["window_end"], labels: row["labels"], samples: row["samples"], sum: row["sum"],
                    min: row["min"] ?? .infinity, max: row["max"] ?? -.infinity,
                    distinctMode: CellCheckpoint.DistinctMode(rawValue: row["distinct_mode"]) ?? .none,
                    estimate: estimate.map { [UInt8]($0) }, sketch: sketch.map { [UInt8]($0) }))
            }
            let chunks = try Row.fetchCursor(db, sql: "SELECT serial, hashes FROM state_distinct ORDER BY id")
            while let row = try chunks.next() {
                let serial: Int64 = row[0]
                let blob: Data = row[1]
                Self.unpack(blob, into: &state.engine.distinct[serial, default: []])
            }
            var keys: [String: [UInt64]] = [:], times: [String: [UInt64]] = [:]
            let dedupe = try Row.fetchCursor(db, sql: "SELECT pipeline, keys, times FROM state_dedupe ORDER BY id")
            while let row = try dedupe.next() {
                let p: String = row[0]
                let k: Data = row[1], t: Data = row[2]
                Self.unpack(k, into: &keys[p, default: []])
                Self.unpack(t, into: &times[p, default: []])
            }
            for (p, ks) in keys {
                guard let ts = times[p], ts.count == ks.count else { continue }
                let cutoff = cutoffs[p] ?? .min
                var live: (keys: [UInt64], times: [EpochMillis]) = ([], [])
                live.keys.reserveCapacity(ks.count)
                live.times.reserveCapacity(ks.count)
                for (k, t) in zip(ks, ts) where Int64(bitPattern: t) > cutoff {
                    live.keys.append(k)
                    live.times.append(Int64(bitPattern: t))
                }
                state.dedupe[p] = live
            }
            for row in try Row.fetchAll(db, sql: "SELECT src, last FROM state_sequences ORDER BY src") {
                state.sequences.append((row["src"], row["last"]))
            }
            return state
        }
    }

    /// 64-bit values as a little-endian blob.
    static func pack(_ values: [UInt64]) -> Data {
        var d = Data(count: values.count * 8)
        d.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: i * 8, as: UInt64.self) }
        }
        return d
    }

    /// Appends the values of a ``pack(_:)`` blob to `out` (a trailing partial value is ignored).
    static func unpack(_ blob: Data, into out: inout [UInt64]) {
        let n = blob.count / 8
        out.reserveCapacity(out.count + n)
        blob.withUnsafeBytes { raw in
            for i in 0..<n { out.append(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self))) }
        }
    }
}
