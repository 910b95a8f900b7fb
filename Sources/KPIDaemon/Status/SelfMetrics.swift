import Foundation
import KPICore
import Prometheus

/// kpid's own metrics in Prometheus form, served on `/metrics`.
///
/// Every health counter the pipeline hands to the `counters` table at a flush (events received
/// by source and type, rejects by reason, late events, drops per qualification filter, sequence
/// gaps, CURVE refusals…) becomes the Prometheus counter `kpid_<name>_total` with the same
/// labels. Gauges and a histogram describe the flush itself. Updated once per flush, off the hot
/// path: the ingest loop never touches Prometheus.
///
/// The event journal adds its lag (messages and bytes received from journaled sources and not
/// committed yet, read from ``JournalInFlight`` when `/metrics` is scraped), its commits, their
/// duration and failures, and the rows pruned; its backlog drops are the counter
/// `kpid_journal_backlog_dropped_total{source}`.
public final class SelfMetrics: @unchecked Sendable {
    public let registry: PrometheusCollectorRegistry
    private let lock = NSLock()
    private var counters: [String: Counter] = [:]
    /// `kpid_alerts{rule,state}`, one gauge per pair seen.
    private struct AlertGaugeKey: Hashable {
        var rule: String
        var state: String
    }
    private var alertGauges: [AlertGaugeKey: Gauge] = [:]
    private let flushDuration: DurationHistogram
    private let flushFailures: Counter
    private let openWindows: Gauge
    private let watermark: Gauge
    private let databaseBytes: Gauge
    private let lastFlush: Gauge
    private let checkpointDuration: DurationHistogram
    private let retentionPruned: Counter
    private let reloads: [ReloadResult: Counter]
    private let databasePath: String?
    private let journal: JournalInFlight?
    private let journalLagMessages: Gauge
    private let journalLagBytes: Gauge
    private let journalCommitDuration: DurationHistogram
    private let journalCommitFailures: Counter
    private let journalPrunedRows: Counter

    /// The outcome of a SIGHUP reload, the `result` label of `kpid_reloads_total`.
    public enum ReloadResult: String, Sendable, CaseIterable {
        /// The new config runs.
        case applied
        /// The new config was invalid (or could not be applied) and the running one was kept.
        case rejected
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), databasePath: String?,
                journal: JournalInFlight? = nil) {
        self.registry = registry
        self.databasePath = databasePath
        self.journal = journal
        journalLagMessages = registry.makeGauge(
            name: "kpid_journal_lag_messages", help: "Messages received from journaled sources and not committed to the journal yet.")
        journalLagBytes = registry.makeGauge(
            name: "kpid_journal_lag_bytes", help: "Bytes received from journaled sources and not committed to the journal yet.")
        journalCommitDuration = registry.makeDurationHistogram(
            name: "kpid_journal_commit_duration_seconds",
            buckets: [.microseconds(500), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                      .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1)],
            help: "Time to commit one group of received messages to the journal (its count is the number of commits).")
        journalCommitFailures = registry.makeCounter(name: "kpid_journal_commit_failures_total",
                                                     help: "Journal commits that failed and were kept for a retry.")
        journalPrunedRows = registry.makeCounter(name: "kpid_journal_pruned_rows_total",
                                                 help: "Checkpointed journal rows deleted past the retention.")
        flushDuration = registry.makeDurationHistogram(
            name: "kpid_flush_duration_seconds",
            buckets: [.milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
                      .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)],
            help: "Time to write one flush (aggregates, counters, rejects and the state checkpoint) to SQLite.")
        checkpointDuration = registry.makeDurationHistogram(
            name: "kpid_checkpoint_duration_seconds",
            buckets: [.microseconds(100), .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                      .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(5)],
            help: "Time to write the state checkpoint of one flush (part of the flush's transaction).")
        retentionPruned = registry.makeCounter(name: "kpid_retention_pruned_rows_total",
                                               help: "Final aggregate rows deleted because they were past their period's retention.")
        flushFailures = registry.makeCounter(name: "kpid_flush_failures_total", help: "Flush writes that failed and were queued for a retry.")
        openWindows = registry.makeGauge(name: "kpid_open_windows", help: "Open (metric, period, window, label set) cells in memory.")
        watermark = registry.makeGauge(name: "kpid_watermark_seconds", help: "Largest event time seen minus the allowed lateness (Unix seconds).")
        databaseBytes = registry.makeGauge(name: "kpid_database_bytes", help: "Size of the SQLite database and its WAL.")
        lastFlush = registry.makeGauge(name: "kpid_last_flush_timestamp_seconds", help: "Wall-clock time of the last successful flush write.")
        reloads = Dictionary(uniqueKeysWithValues: ReloadResult.allCases.map {
            ($0, registry.makeCounter(name: "kpid_reloads_total", labels: [("result", $0.rawValue)]))
        })
    }

    /// Counts one reload (SIGHUP) by outcome.
    public func reloaded(_ result: ReloadResult) { reloads[result]?.increment() }

    /// Adds the counter increments of one flush.
    public func add(_ deltas: [CounterDelta]) {
        lock.lock()
        defer { lock.unlock() }
        for d in deltas where d.delta > 0 {
            let key = d.name + "\u{0}" + d.labels
            let counter: Counter
            if let c = counters[key] {
                counter = c
            } else {
                counter = registry.makeCounter(name: "kpid_\(d.name)_total", labels: Self.labels(d.labels))
                counters[key] = counter
            }
            counter.increment(by: d.delta)
        }
    }

    /// Records one successful write.
    public func wrote(duration: Duration, openCells: Int, watermarkMillis: EpochMillis, at wallMillis: EpochMillis) {
        flushDuration.record(duration)
        openWindows.set(Double(openCells))
        if watermarkMillis != .min { watermark.set(Double(watermarkMillis) / 1000) }
        lastFlush.set(Double(wallMillis) / 1000)
        if let databasePath {
            let size = [databasePath, databasePath + "-wal"].reduce(0) { total, p in
                total + ((try? FileManager.default.attributesOfItem(atPath: p)[.size] as? NSNumber)?.intValue ?? 0)
            }
            databaseBytes.set(Double(size))
        }
    }

    /// Records the time the state checkpoint of a flush took.
    public func checkpointed(duration: Duration) { checkpointDuration.record(duration) }

    /// Alerts per rule and state (`kpid_alerts{rule,state}`, state `pending` or `firing`), from
    /// the active instances after an alerting step. A (rule, state) seen once is kept at 0.
    public func alerts(_ active: [AlertInstance]) {
        var counts: [AlertGaugeKey: Int] = [:]
        for a in active where a.phase == .pending || a.phase == .firing {
            counts[AlertGaugeKey(rule: a.rule, state: a.phase.rawValue), default: 0] += 1
        }
        lock.lock()
        defer { lock.unlock() }
        for key in counts.keys where alertGauges[key] == nil {
            alertGauges[key] = registry.makeGauge(name: "kpid_alerts", labels: [("rule", key.rule), ("state", key.state)],
                                                  help: "Alerts of a rule in a state (pending or firing).")
        }
        for (key, gauge) in alertGauges { gauge.set(Double(counts[key] ?? 0)) }
    }

    /// Counts aggregate rows deleted by retention.
    public func pruned(rows: Int) { retentionPruned.increment(by: Int64(rows)) }

    /// Records a failed write.
    public func failed() { flushFailures.increment() }

    /// Records one journal commit.
    func journalCommitted(duration: Duration) { journalCommitDuration.record(duration) }
    /// Records a failed journal commit.
    func journalFailed() { journalCommitFailures.increment() }
    /// Records journal rows pruned.
    func journalPruned(_ rows: Int) { journalPrunedRows.increment(by: Int64(rows)) }

    /// The Prometheus text exposition of every metric.
    public func exposition() -> [UInt8] {
        if let journal {
            let lag = journal.lag
            journalLagMessages.set(Double(lag.messages))
            journalLagBytes.set(Double(lag.bytes))
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 * 1024)
        registry.emit(into: &buffer)
        return buffer
    }

    /// Label pairs of a canonical label JSON object (null values become empty strings).
    static func labels(_ json: String) -> [(String, String)] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any] else { return [] }
        return object.keys.sorted().map { key in
            switch object[key] {
            case let s as String: return (key, s)
            case let n as NSNumber: return (key, n.stringValue)
            default: return (key, "")
            }
        }
    }
}
