import Foundation
import KPIConfig
import KPICore
import KPIPipeline
import KPIStore
import Logging
import ServiceLifecycle
import ZeroMQ

/// Everything one running kpid is made of, built from a config: the SQLite store, the flush
/// writer, the ZeroMQ sources, the pipeline and the ingest service.
///
/// `start` order matters and is the contract tests and systemd rely on: the database is opened
/// and migrated first, then every endpoint is bound or connected, and only then is the daemon
/// ready (the `kpid ready` log line).
public final class Daemon: Sendable {
    public let config: KpidConfig
    public let store: KPIStore
    let loop: IngestLoop
    let context: ZmqContext
    let logger: Logger
    /// systemd's notify socket, from the environment (a no-op outside systemd).
    public let notifier: SystemdNotifier

    /// Opens the store and the sockets for `config`. Throws ``BotPatternError``, ``StoreError`` or ``SourceError``.
    public init(config: KpidConfig, databasePath: String? = nil, clock: any WallClock = SystemClock(), logger: Logger) throws {
        self.config = config
        self.logger = logger
        // The pipeline first: it compiles the bot patterns, and a failure must start nothing.
        let pipeline = try IngestPipeline(config: config, clock: clock)
        let path = databasePath ?? config.storage.path
        store = try KPIStore(path: path)
        context = try ZmqContext()
        let sockets = try SourceSockets(config: config, context: context)
        let writer = FlushWriter(store: store, rejectsPerReason: config.storage.rejectSamplesPerReason, logger: logger)
        notifier = SystemdNotifier.fromEnvironment()
        loop = IngestLoop(pipeline: pipeline, sockets: sockets, writer: writer, clock: clock, logger: logger, notifier: notifier)
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully and returns. Tells systemd
    /// `READY=1` first: the store is open and every endpoint is bound or connected by then.
    public func run() async throws {
        notifier.ready(status: "receiving on \(config.sources.count) source(s)")
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: IngestService(loop: loop))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        try await group.run()
        context.shutdown()
    }
}
