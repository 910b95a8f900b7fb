import Foundation
import KPIConfig
import KPICore
import KPINotify
import KPIPipeline
import KPIStore
import Logging
import ServiceLifecycle
import UnixSignals
import ZeroMQ

/// Everything one running kpid is made of, built from a config: the SQLite store, the flush
/// writer, the ZeroMQ sources, the pipeline and the ingest service.
///
/// `start` order matters and is the contract tests and systemd rely on: the database is opened
/// and migrated first, then every endpoint is bound or connected, and only then is the daemon
/// ready (the `kpid ready` log line).
public final class Daemon: Sendable {
    /// The config kpid started with; a reload (SIGHUP) changes the one the ingest loop runs.
    public let config: KpidConfig
    public let store: KPIStore
    let loop: IngestLoop
    let context: ZmqContext
    /// The ZAP handler, when a source uses CURVE.
    let zap: ZapHandler?
    let logger: Logger
    /// systemd's notify socket, from the environment (a no-op outside systemd).
    public let notifier: SystemdNotifier
    /// kpid's own metrics (`/metrics`) and liveness (`/healthz`).
    public let metrics: SelfMetrics
    public let health: DaemonHealth
    /// Alert evaluation and the outbox delivery service (nil without rules and receivers).
    let alerts: AlertRunner?
    let delivery: OutboxDelivery?
    /// The file `config` was read from; SIGHUP reads it again (nil: SIGHUP is not handled).
    let configPath: String?

    /// Opens the store and the sockets for `config`, read from `configPath` (SIGHUP reloads it).
    /// Throws ``BotPatternError``, ``StoreError`` or ``SourceError``.
    public init(config: KpidConfig, configPath: String? = nil, databasePath: String? = nil, clock: any WallClock = SystemClock(),
                logger: Logger) throws {
        self.config = config
        self.configPath = configPath
        self.logger = logger
        // The pipeline first: it compiles the bot patterns, and a failure must start nothing.
        // Its clock can be held at a message's receive time while the journal is replayed.
        let pipelineClock = ReplayClock(base: clock)
        let pipeline = try IngestPipeline(config: config, clock: pipelineClock)
        // CURVE server keys are config too: checked before any state is loaded or replayed.
        let curve = config.sources.filter { $0.curve != nil }
        try Self.checkServerKeys(curve)
        let path = databasePath ?? config.storage.path
        store = try KPIStore(path: path)
        // Derived change/delta read the window before: seed it from the final rows already stored.
        pipeline.derived.seed(try store.latestFinalRows(metrics: pipeline.derived.seedMetrics))
        // The state of the last committed flush: open windows, distinct sets, sketches, panes,
        // label sets, dedupe keys, sequence numbers and the watermark.
        try StateRestore.restore(pipeline, from: store, logger: logger)
        // The checkpointed state covers exactly the journal rows up to `journal_checkpoint.position`.
        // Journal replay: the messages received after the checkpoint, fed to the pipeline as when
        // they were received; the first flush writes their aggregates and moves the checkpoint.
        let journalPosition: Int64
        let lastSeq: Int64
        let replay: JournalReplay.Outcome
        do {
            journalPosition = try store.journalPosition()
            replay = try JournalReplay.replay(into: pipeline, clock: pipelineClock, from: store, after: journalPosition,
                                              authenticated: config.sources.map { $0.curve != nil }, logger: logger)
            // The highest `seq` ever stored (replay skips rows it cannot decode without counting them).
            lastSeq = try store.lastJournalSeq()
        } catch {
            throw StoreError(path: path, message: "cannot replay the journal: \(error)")
        }
        context = try ZmqContext()
        // The ZAP handler must answer before a CURVE socket binds: without one, libzmq admits anyone.
        if curve.isEmpty {
            zap = nil
        } else {
            let handler: ZapHandler
            do { handler = try ZapHandler(config: config, context: context, logger: logger) } catch let e as ZmqError {
                throw SourceError(source: "ZAP handler", endpoint: "bind \(ZapHandler.endpoint)", underlying: e)
            }
            handler.start()
            zap = handler
        }
        let sockets: SourceSockets
        do { sockets = try SourceSockets(config: config, context: context) } catch {
            zap?.stop()
            throw error
        }
        let journal = JournalInFlight()
        metrics = SelfMetrics(databasePath: path, journal: journal)
        health = DaemonHealth(staleAfterMillis: max(10_000, 5 * config.flushIntervalMillis))
        // Alerting: rules evaluated after each flush, notifications drained from the outbox.
        if !config.alertRules.isEmpty || !config.receivers.isEmpty {
            let senders = try OutboxDelivery.senders(for: config.receivers)
            delivery = OutboxDelivery(store: store, senders: senders, config: config.alerting, clock: clock, logger: logger)
            alerts = try AlertRunner(config: config, store: store, delivery: delivery, logger: logger)
        } else {
            delivery = nil
            alerts = nil
        }
        let pruner = RetentionPruner(store: store, retention: config.retention,
                                     metrics: pipeline.engine.metricNames + config.derivedMetrics.map(\.name), logger: logger)
        let writer = FlushWriter(store: store, rejectsPerReason: config.storage.rejectSamplesPerReason, logger: logger,
                                 metrics: metrics, health: health, alerts: alerts, pruner: pruner, journal: journal,
                                 journalConfig: config.journal, journalPosition: journalPosition)
        notifier = SystemdNotifier.fromEnvironment()
        loop = IngestLoop(pipeline: pipeline, sockets: sockets, writer: writer, clock: clock, logger: logger, notifier: notifier,
                          health: health, store: store, metrics: metrics, journal: .init(
                              config: config.journal, lastSeq: lastSeq, position: journalPosition, inFlight: journal))
        loop.pendingCounters = replay.counterDeltas
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully and returns. Logs `kpid ready`
    /// and tells systemd `READY=1` once the store is open, every endpoint is bound or connected
    /// and the status listener (when enabled) accepts connections. SIGHUP reloads the config
    /// (``ReloadService``).
    public func run() async throws {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: IngestService(loop: loop))]
        // Trap SIGHUP before anything reports ready: its default action would end the process.
        let reload: ReloadService? = if let configPath {
            ReloadService(signals: await UnixSignalsSequence(trapping: .sighup), configPath: configPath, loop: loop,
                          notifier: notifier, logger: logger)
        } else { nil }
        let endpoints = config.sources.flatMap { $0.bind + $0.connect }.joined(separator: ",")
        let (config, logger, notifier) = (self.config, self.logger, self.notifier)
        @Sendable func ready(status: String) {
            logger.info("kpid ready", metadata: ["endpoints": "\(endpoints)", "status": "\(status)"])
            notifier.ready(status: "receiving on \(config.sources.count) source(s)")
        }
        if config.status.enabled {
            services.append(.init(service: StatusServer.make(
                config: config.status, metrics: metrics, health: health, logger: logger,
                onRunning: { port in ready(status: "http://\(config.status.host):\(port)") })))
        } else {
            ready(status: "off")
        }
        let group = ServiceGroup(
            configuration: .init(
                // The reload service last: a graceful shutdown stops it first.
                services: services + (delivery.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? [])
                    + (reload.map { [ServiceGroupConfiguration.ServiceConfiguration(service: $0)] } ?? []),
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        defer {
            zap?.stop()
            context.shutdown()
        }
        try await group.run()
    }

    /// Checks that each configured server public key belongs to its secret key, so that clients
    /// given the public key file can connect. Throws ``CurveKeyError``.
    static func checkServerKeys(_ sources: [SourceConfig]) throws {
        guard !sources.isEmpty else { return }
        guard ZmqCurve.isAvailable else { throw CurveKeyError(message: "this libzmq has no CURVE support") }
        for s in sources {
            guard let curve = s.curve else { continue }
            let derived: String
            do { derived = try ZmqCurve.publicKey(forSecretKey: curve.secretKey) } catch {
                throw CurveKeyError(message: "source \(s.name): \(curve.secretKeyFile) is not a valid CURVE secret key")
            }
            if let pub = curve.publicKey, pub != derived {
                throw CurveKeyError(message: "source \(s.name): the public key \(curve.publicKeyFile ?? "") does not belong to the secret key \(curve.secretKeyFile)")
            }
        }
    }
}

/// A CURVE server key pair that cannot be used (a config error: kpid exits 78).
public struct CurveKeyError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
