import Foundation
import KPIConfig
import KPICore
import KPIPipeline
import Logging
import ZeroMQ

/// A reload ready to apply: the new config diffed against the running one it was prepared from,
/// and the new pipeline, compiled off the ingest thread (bot patterns take a while).
struct PreparedReload: @unchecked Sendable {
    /// The file's config as loaded.
    let requested: KpidConfig
    /// The running config the change was computed against.
    let base: KpidConfig
    let change: ConfigChange
    /// Built from `change.applied`; owned by whoever holds this value (handed over once).
    let pipeline: IngestPipeline
}

/// Reload (SIGHUP): the daemon validates the new file and prepares the reload off this thread
/// (``IngestLoop/prepareReload(_:)``), then posts it with ``IngestLoop/requestReload(_:)``; the
/// loop applies it between two receive rounds.
///
/// Order, so that a failure at any step before the swap leaves the running config untouched:
/// 1. (off the loop) diff the configs and compile the new ``IngestPipeline`` (bot patterns);
/// 2. open and bind the sockets of added and changed sources (kept sockets stay open);
/// 3. receive what the sockets of removed and changed sources already hold, cut a flush of the
///    old pipeline and wait for the writer, so everything is committed (and checkpointed);
/// 4. restore the state of unchanged metrics into the new pipeline (``StateRestore``) and seed
///    its derived `change`/`delta` from the stored final rows; with changed alert rules, build
///    the new ``AlertRunner`` (its state restored from SQLite, as at a start);
/// 5. swap; what arrived meanwhile on a changed source's old socket goes to the new pipeline;
///    then the old sockets close and their endpoints are bound by the new ones.
extension IngestLoop {
    /// Diffs `requested` against the running config, logs the keys that need a restart and
    /// compiles the new pipeline. Returns nil when nothing that runs would change (logged and
    /// counted here). Safe from any thread; throws ``BotPatternError``.
    func prepareReload(_ requested: KpidConfig) throws -> PreparedReload? {
        let base = runningConfig.withLock { $0 }
        let change = ConfigChange(from: base, to: requested)
        for key in change.needsRestart {
            logger.warning("config key needs a restart; its running value is kept", metadata: ["key": "\(key)"])
        }
        if change.applied == base {
            logger.info("config unchanged; nothing to reload")
            metrics?.reloaded(.applied)
            notifier.ready(status: "config unchanged; receiving on \(base.sources.count) source(s)")
            return nil
        }
        let pipeline = try IngestPipeline(config: change.applied, clock: clock)
        return PreparedReload(requested: requested, base: base, change: change, pipeline: pipeline)
    }

    /// Hands a prepared reload to the loop; safe from any thread. One posted before the previous
    /// one was applied replaces it; nil withdraws that one (the file went back to what runs).
    func requestReload(_ reload: PreparedReload?) {
        reloadMailbox.withLock { $0 = reload }
        reloadPending.store(true, ordering: .releasing)
    }

    /// Logs, counts and reports a reload that was not applied; safe from any thread.
    func rejectReload(step: String, error: any Error, metadata: Logger.Metadata = [:]) {
        logger.error("config reload rejected; the running config is kept",
                     metadata: metadata.merging(["step": "\(step)", "error": "\(error)"]) { a, _ in a })
        metrics?.reloaded(.rejected)
        notifier.ready(status: "reload rejected: \(error)")
    }

    /// Applies the reload in the mailbox. Returns true when the sockets changed (the caller
    /// rebuilds its poller).
    func applyPendingReload() -> Bool {
        reloadPending.store(false, ordering: .relaxed)
        guard var prepared = reloadMailbox.withLock({ box -> PreparedReload? in
            defer { box = nil }
            return box
        }) else { return false }
        let started = MonotonicClock.millis()
        if prepared.base != pipeline.config {
            // Another reload was applied after this one was prepared: diff again, here.
            do {
                guard let again = try prepareReload(prepared.requested) else { return false }
                prepared = again
            } catch {
                rejectReload(step: "pipeline", error: error)
                return false
            }
        }
        let change = prepared.change
        let config = change.applied
        let next = prepared.pipeline
        let rebind: SourceRebind
        do { rebind = try sockets.prepareRebind(to: config, change: change) } catch {
            rejectReload(step: "sources", error: error)
            return false
        }
        for s in rebind.retired {
            if let i = sockets.names.firstIndex(of: s.name) { drain(s.socket, source: i) }
        }
        flush()
        writer.drain()
        var restored = 0
        var alerts: AlertRunner?
        if let store {
            do {
                next.derived.seed(try store.latestFinalRows(metrics: next.derived.seedMetrics))
                restored = try StateRestore.restore(next, from: store, logger: logger)
                if change.alertRulesChanged, let running = writer.alerts {
                    alerts = try AlertRunner(config: config, store: store, delivery: running.delivery, logger: logger)
                }
            } catch {
                rebind.cancel()
                rejectReload(step: "state", error: error)
                return false
            }
        }
        receivedBeforeReload += pipeline.counters.receivedTotal
        pipeline = next
        // Nothing is in flight between receive batches: the decoder thread follows the new fields.
        ahead.prepare(for: next)
        runningConfig.withLock { $0 = config }
        sockets = rebind.next
        authenticated = sockets.curve
        // The journal follows the new source numbering (the flush above reported the backlog
        // drops of the old one); `[journal]` settings themselves need a restart.
        journaled = sockets.journaled
        backlogDropped = journaled.map { _ in 0 }
        flushInterval = max(10, config.flushIntervalMillis)
        if let alerts { writer.replaceAlerts(alerts) }
        for s in rebind.retired {
            if let i = sockets.names.firstIndex(of: s.name) { drain(s.socket, source: i) }
        }
        for failure in rebind.finish() {
            logger.error("reload: endpoint could not be bound or connected again", metadata: ["error": "\(failure)"])
        }
        logger.info("config reloaded", metadata: [
            "metrics_added": "\(change.metricsAdded.joined(separator: ","))",
            "metrics_removed": "\(change.metricsRemoved.joined(separator: ","))",
            "metrics_changed": "\(change.metricsChanged.joined(separator: ","))",
            "metrics_kept": "\(change.metricsKept.joined(separator: ","))",
            "sources_added": "\(change.sourcesAdded.joined(separator: ","))",
            "sources_removed": "\(change.sourcesRemoved.joined(separator: ","))",
            "sources_rebound": "\(change.sourcesChanged.joined(separator: ","))",
            "restored_metrics": "\(restored)",
            "alert_rules": alerts == nil ? "kept" : "reloaded",
            // Events received before the swap: a new metric counts exactly the ones after.
            "events_before": "\(receivedBeforeReload)",
            "took_ms": "\(MonotonicClock.millis() - started)",
        ])
        metrics?.reloaded(.applied)
        notifier.ready(status: "config reloaded; receiving on \(config.sources.count) source(s)")
        return true
    }

    /// Takes what `socket` already holds (bounded, so a flood cannot stall the reload).
    private func drain(_ socket: ZmqSocket, source: Int) {
        var rounds = 0
        while rounds < 16, receiveBatch(socket, source: source, limit: 1024) == 1024 { rounds += 1 }
    }
}
