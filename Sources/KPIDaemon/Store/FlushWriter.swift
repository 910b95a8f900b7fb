import Dispatch
import KPICore
import KPIPipeline
import KPIStore
import Logging

/// Writes flushes to SQLite on its own serial queue, so that the ingest loop never waits for the
/// disk. A flush that fails (disk full, database locked for longer than the busy timeout) is
/// kept and written again, in order, before the next one: rows are never dropped, only delayed.
public final class FlushWriter: @unchecked Sendable {
    private let store: KPIStore
    private let queue = DispatchQueue(label: "kpid.flush-writer")
    private let logger: Logger
    private let rejectsPerReason: Int
    private var failed: [KPIStore.Flush] = []
    private var writes = 0
    /// Flushes that failed at least once (read on the writer queue).
    public private(set) var failures = 0
    /// Alert evaluation after each flush (nil without alert rules). Replaced by a reload that
    /// changes the rules (``replaceAlerts(_:)``); read by the submitting thread and the queue.
    private(set) var alerts: AlertRunner?

    private let metrics: SelfMetrics?
    private let health: DaemonHealth?
    /// Deletes aggregate rows past their retention between flushes (nil: keep everything).
    let pruner: RetentionPruner?

    public init(store: KPIStore, rejectsPerReason: Int, logger: Logger, metrics: SelfMetrics? = nil, health: DaemonHealth? = nil,
                alerts: AlertRunner? = nil, pruner: RetentionPruner? = nil) {
        self.pruner = pruner
        self.metrics = metrics
        self.health = health
        self.store = store
        self.alerts = alerts
        self.rejectsPerReason = rejectsPerReason
        self.logger = logger
    }

    /// Queues a flush for writing; `openCells` is the engine's open cell count, for the metrics.
    public func submit(_ flush: IngestPipeline.Flush, now: EpochMillis, openCells: Int = 0) {
        var built = KPIStore.Flush(batch: flush.batch, counters: flush.counters, rejects: flush.rejects, now: now,
                                   qualified: flush.qualified, qualifiedCutoffs: flush.qualifiedLogCutoffs)
        built.state = flush.state
        let f = built
        // With alert rules every flush is evaluated, empty or not: time passes for `for`,
        // `keep_firing_for`, `absent_for` and the group timers.
        if f.isEmpty && alerts == nil {
            // Nothing new, but a flush that failed earlier is retried now rather than with the next data.
            queue.async {
                guard !self.failed.isEmpty else { return }
                self.retryFailed()
                self.health?.wrote(at: MonotonicClock.millis(), failedFlushes: self.failed.count)
            }
            return
        }
        queue.async {
            self.write(f, openCells: openCells)
            self.metrics?.add(f.counters)
            self.health?.wrote(at: MonotonicClock.millis(), failedFlushes: self.failed.count)
        }
    }

    /// Evaluates the flushes submitted from now on with `runner`. Call it from the thread that
    /// submits, after ``drain()``: the queue is then idle and the swap is ordered with both.
    func replaceAlerts(_ runner: AlertRunner) {
        queue.sync { alerts = runner }
    }

    /// Blocks until every queued flush has been attempted.
    public func drain() {
        queue.sync {
            if !failed.isEmpty { retryFailed() }
        }
    }

    private func write(_ flush: KPIStore.Flush, openCells: Int) {
        var f = flush
        f.alerts = alerts?.step(f.batch, now: f.now)
        retryFailed()
        // An empty flush that alerting had nothing to add to writes nothing.
        if f.isEmpty { return }
        guard failed.isEmpty else {
            failed.append(f)
            return
        }
        do {
            let started = ContinuousClock.now
            if let checkpoint = try store.write(f) { metrics?.checkpointed(duration: checkpoint) }
            metrics?.wrote(duration: ContinuousClock.now - started, openCells: openCells, watermarkMillis: f.batch.watermark, at: f.now)
            if let a = f.alerts {
                alerts?.committed(a)
                if let runner = alerts { metrics?.alerts(runner.stage.evaluator.activeInstances) }
            }
            writes += 1
            if !f.rejects.isEmpty, writes % 16 == 0 {
                try store.pruneRejects(keepPerReason: rejectsPerReason)
            }
            if let n = pruner?.runIfDue(now: f.now), n > 0 { metrics?.pruned(rows: n) }
        } catch {
            metrics?.failed()
            failures += 1
            failed.append(f)
            logger.error("flush failed; will retry", metadata: ["error": "\(error)", "rows": "\(f.batch.rows.count)"])
        }
    }

    private func retryFailed() {
        while let first = failed.first {
            do {
                try store.write(first)
                if let a = first.alerts { alerts?.committed(a) }
                failed.removeFirst()
            } catch {
                return
            }
        }
    }
}
