import Foundation
import KPIConfig
import KPICore
import KPIPipeline
import Logging
import ZeroMQ

/// Reload (SIGHUP): the daemon validates the new file off this thread and posts it with
/// ``IngestLoop/requestReload(_:)``; the loop applies it between two receive rounds.
///
/// Order, so that a failure at any step before the swap leaves the running config untouched:
/// 1. compile the new ``IngestPipeline`` (bot patterns);
/// 2. open and bind the sockets of added and changed sources (kept sockets stay open);
/// 3. receive what the sockets of removed and changed sources already hold, cut a flush of the
///    old pipeline and wait for the writer, so everything is committed (and checkpointed);
/// 4. restore the state of unchanged metrics into the new pipeline (``StateRestore``) and seed
///    its derived `change`/`delta` from the stored final rows; with changed alert rules, build
///    the new ``AlertRunner`` (its state restored from SQLite, as at a start);
/// 5. swap; what arrived meanwhile on a changed source's old socket goes to the new pipeline;
///    then the old sockets close and their endpoints are bound by the new ones.
extension IngestLoop {
    /// Hands a validated config to the loop; safe from any thread. A config posted before the
    /// previous one was applied replaces it.
    public func requestReload(_ config: KpidConfig) {
        reloadMailbox.withLock { $0 = config }
        reloadPending.store(true, ordering: .releasing)
    }

    /// Applies the config in the mailbox. Returns true when the sockets changed (the caller
    /// rebuilds its poller).
    func applyPendingReload() -> Bool {
        reloadPending.store(false, ordering: .relaxed)
        guard let requested = reloadMailbox.withLock({ box -> KpidConfig? in
            defer { box = nil }
            return box
        }) else { return false }
        let started = MonotonicClock.millis()
        let change = ConfigChange(from: pipeline.config, to: requested)
        for key in change.needsRestart {
            logger.warning("config key needs a restart; its running value is kept", metadata: ["key": "\(key)"])
        }
        let config = change.applied
        if config == pipeline.config {
            logger.info("config unchanged; nothing to reload")
            metrics?.reloaded(.applied)
            notifier.ready(status: "config unchanged; receiving on \(config.sources.count) source(s)")
            return false
        }
        let next: IngestPipeline
        do { next = try IngestPipeline(config: config, clock: clock) } catch {
            rejectReload(step: "pipeline", error: error)
            return false
        }
        let rebind: SourceRebind
        do { rebind = try sockets.prepareRebind(to: config, change: change) } catch {
            rejectReload(step: "sources", error: error)
            return false
        }
        let message = ZmqMultipartMessage(maxFrames: 4)
        for s in rebind.retired {
            if let i = sockets.names.firstIndex(of: s.name) { drain(s.socket, source: i, message: message) }
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
        sockets = rebind.next
        authenticated = sockets.curve
        flushInterval = max(10, config.flushIntervalMillis)
        if let alerts { writer.replaceAlerts(alerts) }
        for s in rebind.retired {
            if let i = sockets.names.firstIndex(of: s.name) { drain(s.socket, source: i, message: message) }
        }
        for failure in rebind.finish() {
            logger.error("reload: endpoint could not be bound again", metadata: ["error": "\(failure)"])
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
    private func drain(_ socket: ZmqSocket, source: Int, message: ZmqMultipartMessage) {
        var rounds = 0
        while rounds < 16, receiveBatch(socket, source: source, message: message, limit: 1024) == 1024 { rounds += 1 }
    }

    private func rejectReload(step: String, error: any Error) {
        logger.error("config reload rejected; the running config is kept", metadata: ["step": "\(step)", "error": "\(error)"])
        metrics?.reloaded(.rejected)
        notifier.ready(status: "reload rejected: \(error)")
    }
}
