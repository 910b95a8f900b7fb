import KPIConfig
import KPICore
import Logging
import ServiceLifecycle
import UnixSignals

/// Reload on SIGHUP as a `Service`: each SIGHUP re-reads and validates the config file here, off
/// the ingest thread, prepares the reload (the diff and the new pipeline) and hands it to the
/// ``IngestLoop``, which applies it between two receive rounds (see `IngestLoop+Reload.swift`).
/// An invalid file is logged with its key and line, counted as
/// `kpid_reloads_total{result="rejected"}`, and the running config is kept.
///
/// systemd: `RELOADING=1` when the signal arrives, `READY=1` once the reload is applied or
/// rejected. The signal sequence is created before the daemon reports ready, so no SIGHUP after
/// `kpid ready` can kill the process or be lost.
struct ReloadService: Service {
    let signals: UnixSignalsSequence
    let configPath: String
    let loop: IngestLoop
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
            loop.rejectReload(step: "config", error: e, metadata: ["key": "\(e.key)", "line": "\(e.line.map { String($0) } ?? "")"])
            return
        }
        do {
            loop.requestReload(try loop.prepareReload(config))
        } catch {
            loop.rejectReload(step: "pipeline", error: error)
        }
    }
}
