import KPIConfig
import KPICore
import Logging
import ServiceLifecycle
import UnixSignals

/// Reload on SIGHUP as a `Service`: each SIGHUP re-reads and validates the config file here, off
/// the ingest thread, and hands a valid config to the ``IngestLoop``, which applies it between two
/// receive rounds (see `IngestLoop+Reload.swift`). An invalid file is logged with its key and line,
/// counted as `kpid_reloads_total{result="rejected"}`, and the running config is kept.
///
/// systemd: `RELOADING=1` when the signal arrives, `READY=1` once the reload is applied or
/// rejected. The signal sequence is created before the daemon reports ready, so no SIGHUP after
/// `kpid ready` can kill the process or be lost.
struct ReloadService: Service {
    let signals: UnixSignalsSequence
    let configPath: String
    let loop: IngestLoop
    let metrics: SelfMetrics
    let notifier: SystemdNotifier
    let logger: Logger

    func run() async throws {
        for await _ in signals.cancelOnGracefulShutdown() {
            reload()
        }
    }

    func reload() {
        logger.info("SIGHUP: reloading the config", metadata: ["file": "\(configPath)"])
        notifier.reloading()
        let config: KpidConfig
        do {
            config = try ConfigLoader.load(contentsOf: configPath)
        } catch {
            let e: ConfigError = error
            logger.error("config reload rejected; the running config is kept", metadata: [
                "error": "\(e)", "key": "\(e.key)", "line": "\(e.line.map { String($0) } ?? "")",
            ])
            metrics.reloaded(.rejected)
            notifier.ready(status: "reload rejected: \(e)")
            return
        }
        loop.requestReload(config)
    }
}
