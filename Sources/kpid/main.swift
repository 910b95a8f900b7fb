import ArgumentParser
import Foundation
import KPIConfig
import KPICore
import KPIDaemon
import Logging
import Metrics
import Prometheus

/// `kpid`: the daemon. Loads the config, opens SQLite, binds the ZeroMQ sources, and turns events
/// into windowed aggregates until SIGTERM/SIGINT. SIGHUP reloads the config.
///
/// Exit status: 0 after a graceful shutdown, 78 (EX_CONFIG) for an invalid config, 73
/// (EX_CANTCREAT) when the database cannot be opened, 69 (EX_UNAVAILABLE) when an endpoint
/// cannot be bound or connected.
@main
struct KpidCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kpid",
        abstract: "Turns ZeroMQ event streams into event-time windowed KPIs in SQLite."
    )

    @Option(name: .shortAndLong, help: "Path of the TOML config.")
    var config: String = "conf/kpid.toml"

    @Option(name: .long, help: "Path of the SQLite database (overrides storage.path).")
    var db: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Option(name: .long, help: "Log format on stdout: logfmt (default) or json (one object per line).")
    var logFormat: String = "logfmt"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        switch logFormat {
        case "logfmt": LoggingSystem.bootstrap { LogfmtLogHandler(label: $0, level: level) }
        case "json": LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        default:
            FileHandle.standardError.write(Data("kpid: --log-format must be logfmt or json, not \(logFormat)\n".utf8))
            throw ExitCode(64)
        }
        let logger = Logger(label: "kpid")

        let cfg: KpidConfig
        do {
            cfg = try ConfigLoader.load(contentsOf: config)
        } catch {
            let e: ConfigError = error
            FileHandle.standardError.write(Data("kpid: invalid config: \(e)\n".utf8))
            throw ExitCode(ConfigError.exitCode)
        }
        logger.info("config loaded", metadata: [
            "file": "\(config)", "metrics": "\(cfg.metrics.count)", "sources": "\(cfg.sources.count)",
            "pipelines": "\(cfg.pipelines.count)",
            "time_zone": "\(cfg.timeZone)", "database": "\(db ?? cfg.storage.path)",
        ])
        for line in ConfigSummary.describe(cfg).split(separator: "\n") {
            logger.info("config", metadata: ["summary": "\(line)"])
        }
        let daemon: Daemon
        do {
            daemon = try Daemon(config: cfg, configPath: config, databasePath: db, logger: logger)
        } catch let e as CurveKeyError {
            FileHandle.standardError.write(Data("kpid: invalid config: \(e)\n".utf8))
            throw ExitCode(ConfigError.exitCode)
        } catch let e as BotPatternError {
            FileHandle.standardError.write(Data("kpid: invalid config: \(e)\n".utf8))
            throw ExitCode(ConfigError.exitCode)
        } catch let e as SourceError {
            FileHandle.standardError.write(Data("kpid: \(e)\n".utf8))
            throw ExitCode(69)
        } catch {
            FileHandle.standardError.write(Data("kpid: cannot open the database: \(error)\n".utf8))
            throw ExitCode(73)
        }
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: daemon.metrics.registry))
        do {
            try await daemon.run()
        } catch {
            FileHandle.standardError.write(Data("kpid: \(error)\n".utf8))
            throw ExitCode(69)
        }
        logger.info("kpid stopped")
    }
}
