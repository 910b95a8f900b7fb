import Dispatch
import KPICore
import KPIPipeline
import KPIStore
import Logging

/// Writes flushes to SQLite on its own serial queue, so that the ingest loop never waits for the
/// disk. A flush that fails (disk full, database locked for longer than the busy timeout) is
/// kept and written again, in order, before the next one: rows are never dropped, only delayed.
///
/// Journal batches go through the same queue, so a batch handed before a flush is committed
/// before it. A batch that fails is kept and retried, in order, before the next one (its bytes
/// stay in the backlog that `[journal] max_backlog_bytes` bounds). After each flush that moved
/// the checkpoint, checkpointed journal rows past the retention are pruned in bounded batches.
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

    /// Journal batches waiting for a commit (normally one at a time; more after a failure).
    private var journalBacklog: [(batch: JournalBatch, sources: [String], publishers: [String])] = []
    private let journalInFlight: JournalInFlight?
    /// `[journal]` (its retention and compression), and the checkpoint position last written
    /// (rows up to it may be pruned).
    private let journalConfig: JournalConfig
    private var checkpointed: Int64
    /// Rows deleted per pruning statement, and the time pruning may take after one flush.
    let pruneBatch = 5_000
    let pruneBudget: Duration = .milliseconds(20)
    /// WAL checkpoints on their own queue, requested after every write.
    private let checkpointer: WALCheckpointer

    public init(store: KPIStore, rejectsPerReason: Int, logger: Logger, metrics: SelfMetrics? = nil, health: DaemonHealth? = nil,
                alerts: AlertRunner? = nil, pruner: RetentionPruner? = nil, journal: JournalInFlight? = nil,
                journalConfig: JournalConfig = JournalConfig(), journalPosition: Int64 = 0) {
        self.pruner = pruner
        self.journalInFlight = journal
        self.journalConfig = journalConfig
        self.checkpointed = journalPosition
        self.checkpointer = WALCheckpointer(store: store, logger: logger)
        self.metrics = metrics
        self.health = health
        self.store = store
        self.alerts = alerts
        self.rejectsPerReason = rejectsPerReason
        self.logger = logger
    }

    /// Queues a flush for writing; `openCells` is the engine's open cell count, for the metrics.
    public func submit(_ flush: IngestPipeline.Flush, now: EpochMillis, openCells: Int = 0, journalPosition: Int64? = nil) {
        var built = KPIStore.Flush(batch: flush.batch, counters: flush.counters, rejects: flush.rejects, now: now,
                                   qualified: flush.qualified, qualifiedCutoffs: flush.qualifiedLogCutoffs)
        built.state = flush.state
        built.journalPosition = journalPosition
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

    /// Queues a journal batch for its commit; the batch goes back to `journal` once committed.
    public func submitJournal(_ batch: JournalBatch, sources: [String], publishers: [String]) {
        queue.async {
            self.journalBacklog.append((batch, sources, publishers))
            self.commitJournal()
        }
    }

    /// Blocks until every queued flush and journal batch has been attempted.
    public func drain() {
        queue.sync {
            commitJournal()
            if !failed.isEmpty { retryFailed() }
        }
    }

    /// Commits the waiting journal batches in order; stops at the first failure (retried with
    /// the next batch, flush or drain).
    private func commitJournal() {
        while let first = journalBacklog.first {
            let started = ContinuousClock.now
            do {
                try store.appendJournal(first.batch, sources: first.sources, publishers: first.publishers,
                                       compression: journalConfig.compression)
            } catch {
                metrics?.journalFailed()
                if journalBacklog.count == 1 {
                    logger.error("journal commit failed; will retry", metadata: ["error": "\(error)",
                                                                                 "messages": "\(first.batch.entries.count)"])
                }
                return
            }
            metrics?.journalCommitted(duration: ContinuousClock.now - started)
            journalBacklog.removeFirst()
            journalInFlight?.committed(first.batch)
            checkpointer.request()
        }
    }

    /// Deletes checkpointed journal rows older than the retention, a bounded batch at a time and
    /// for at most ``pruneBudget``, so that ingest (which waits for nothing here) never stalls
    /// behind a long delete; what is left is deleted after the next flush.
    private func pruneJournal(now: EpochMillis) {
        guard checkpointed > 0 else { return }
        let started = ContinuousClock.now
        do {
            while true {
                let n = try store.pruneJournal(receivedBefore: now - journalConfig.retentionMillis, upTo: checkpointed, limit: pruneBatch)
                if n > 0 { metrics?.journalPruned(n) }
                if n < pruneBatch || ContinuousClock.now - started > pruneBudget { return }
            }
        } catch {
            logger.warning("journal pruning failed", metadata: ["error": "\(error)"])
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
            // Pruning follows the checkpoint, and also runs now and then while it stands still.
            if let p = f.journalPosition { checkpointed = p }
            if f.journalPosition != nil || writes % 16 == 0 { pruneJournal(now: f.now) }
            checkpointer.request()
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
                if let p = first.journalPosition { checkpointed = p }
                failed.removeFirst()
            } catch {
                return
            }
        }
    }
}
