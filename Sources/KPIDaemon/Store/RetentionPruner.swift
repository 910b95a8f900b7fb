import KPICore
import KPIStore
import Logging

/// Deletes final `aggregates` rows past their period's retention (``RetentionConfig``), a bounded
/// amount at a time, on the flush writer's queue between flushes, so pruning never stalls ingest
/// and never holds the write lock for long: each batch is its own short transaction.
public final class RetentionPruner {
    let store: KPIStore
    let retention: RetentionConfig
    /// Every metric name kpid writes rows for: configured, health and derived metrics.
    let metrics: [String]
    let logger: Logger
    /// Rows deleted per transaction, and batches per ``run(now:)`` at most.
    var batch = 2_000
    var maxBatches = 25
    /// Minimum wall-clock time between two runs.
    var everyMillis: Int64 = 60_000
    private var lastRun: EpochMillis = .min

    public init(store: KPIStore, retention: RetentionConfig, metrics: [String], logger: Logger) {
        self.store = store
        self.retention = retention
        self.metrics = metrics
        self.logger = logger
    }

    /// Prunes when ``everyMillis`` passed since the last run; returns the rows deleted. Errors are
    /// logged and retried at the next run (pruning is never urgent).
    @discardableResult
    func runIfDue(now: EpochMillis) -> Int {
        guard lastRun == .min || now - lastRun >= everyMillis else { return 0 }
        lastRun = now
        return run(now: now)
    }

    /// One pass over every metric and period with a finite retention, at most ``maxBatches``
    /// batches (the rest waits for the next pass).
    func run(now: EpochMillis) -> Int {
        var deleted = 0, batches = 0
        do {
            for (period, keep) in retention.keepMillis.sorted(by: { $0.key < $1.key }) {
                for metric in metrics {
                    while batches < maxBatches {
                        let n = try store.pruneAggregates(metric: metric, period: period, endedBefore: now - keep, limit: batch)
                        batches += 1
                        deleted += n
                        if n < batch { break }
                    }
                }
            }
        } catch {
            logger.warning("retention pruning failed; will retry", metadata: ["error": "\(error)"])
        }
        if deleted > 0 { logger.info("retention pruned aggregates", metadata: ["rows": "\(deleted)"]) }
        return deleted
    }
}
