import Foundation
import KPICore
import KPIPipeline
import KPIStore
import Logging
import Synchronization
import ZeroMQ

/// The receive loop: it polls every source socket, receives messages fairly (a bounded batch
/// per socket per round, so that a flood on one source cannot starve the others), runs them
/// through the ``IngestPipeline``, and cuts a flush every `flush_interval`.
///
/// It runs on a dedicated thread because libzmq calls block. ``requestStop()`` makes it stop
/// receiving new messages, process what libzmq has already delivered, write a last flush, wait
/// for the writer, and return.
public final class IngestLoop: @unchecked Sendable {
    /// The pipeline and the sockets; a reload replaces both (see `IngestLoop+Reload.swift`).
    var pipeline: IngestPipeline
    var sockets: SourceSockets
    let writer: FlushWriter
    let clock: any WallClock
    let logger: Logger
    var flushInterval: Int64
    private let stopFlag = Atomic<Bool>(false)
    /// A reload's mailbox: the newest prepared reload not applied yet, and a flag the loop reads
    /// once per round (an atomic load; the lock is taken only when it is set).
    let reloadMailbox = Mutex<PreparedReload?>(nil)
    let reloadPending = Atomic<Bool>(false)
    /// The config the loop runs, readable from any thread (a reload is prepared against it).
    let runningConfig: Mutex<KpidConfig>
    /// Where a reload restores the state of unchanged metrics from (nil: nothing is restored).
    let store: KPIStore?
    let metrics: SelfMetrics?
    /// Events received by the pipelines a reload replaced.
    var receivedBeforeReload: Int64 = 0
    /// Messages taken from one socket before moving to the next.
    var batchPerSocket = 256
    /// Longest time the shutdown drain may take.
    var drainBudgetMillis: Int64 = 3_000
    /// systemd supervision: `WATCHDOG=1` from this loop (so a wedged loop is restarted) and a
    /// `STATUS=` line with live rates, every ``heartbeatMillis``.
    let notifier: SystemdNotifier
    let heartbeatMillis: Int64
    let health: DaemonHealth?
    private var lastStatus = (at: Int64(0), events: Int64(0))
    /// Refused CURVE handshakes and dropped connections, read from the sources' monitors.
    private var refusals = ConnectionEvents()
    /// Per source: whether it is a CURVE source (its messages carry a ZAP user id).
    var authenticated: [Bool]

    init(pipeline: IngestPipeline, sockets: SourceSockets, writer: FlushWriter, clock: any WallClock, logger: Logger,
         notifier: SystemdNotifier = SystemdNotifier(socketPath: nil), health: DaemonHealth? = nil,
         store: KPIStore? = nil, metrics: SelfMetrics? = nil) {
        self.store = store
        self.metrics = metrics
        self.runningConfig = Mutex(pipeline.config)
        self.notifier = notifier
        self.health = health
        self.heartbeatMillis = min(notifier.watchdogIntervalMillis ?? 5_000, 5_000)
        self.pipeline = pipeline
        self.sockets = sockets
        self.writer = writer
        self.clock = clock
        self.logger = logger
        self.flushInterval = max(10, pipeline.config.flushIntervalMillis)
        self.authenticated = sockets.curve
    }

    /// Asks the loop to stop; safe from any thread.
    public func requestStop() { stopFlag.store(true, ordering: .releasing) }

    /// Runs the loop until ``requestStop()``; then drains, flushes and returns.
    func run() {
        let message = ZmqMultipartMessage(maxFrames: 4)
        var poller = makePoller()
        var nextFlush = MonotonicClock.millis() + flushInterval
        var nextHeartbeat = MonotonicClock.millis()
        while !stopFlag.load(ordering: .acquiring) {
            // A safe point: no message is half processed.
            if reloadPending.load(ordering: .acquiring), applyPendingReload() {
                poller = makePoller()
                nextFlush = MonotonicClock.millis() + flushInterval
            }
            var received = 0
            for (i, socket) in sockets.sockets.enumerated() {
                received += receiveBatch(socket, source: i, message: message, limit: batchPerSocket)
            }
            refusals.poll(sockets.monitors, names: sockets.names)
            let now = MonotonicClock.millis()
            health?.loopBeat(now)
            if now >= nextFlush {
                flush()
                nextFlush = now + flushInterval
            }
            if now >= nextHeartbeat {
                heartbeat(now: now)
                nextHeartbeat = now + heartbeatMillis
            }
            if received == 0 {
                let wait = Int(max(1, min(50, nextFlush - now, nextHeartbeat - now)))
                do { _ = try poller.poll(timeoutMilliseconds: wait) } catch let e as ZmqError where e.isInterrupted {
                    continue
                } catch {
                    logger.error("poll failed", metadata: ["error": "\(error)"])
                    Thread.sleep(forTimeInterval: 0.05)
                }
            }
        }
        // Graceful stop: take what libzmq already delivered, then flush.
        let deadline = MonotonicClock.millis() + drainBudgetMillis
        var drained = 0
        while MonotonicClock.millis() < deadline {
            var got = 0
            for (i, socket) in sockets.sockets.enumerated() {
                got += receiveBatch(socket, source: i, message: message, limit: 4096)
            }
            drained += got
            if got == 0 { break }
        }
        flush()
        writer.drain()
        sockets.close()
        logger.info("ingest stopped", metadata: ["drained_messages": "\(drained)", "events_received": "\(receivedTotal)"])
    }

    /// Events received since start, across reloads.
    var receivedTotal: Int64 { receivedBeforeReload + pipeline.counters.receivedTotal }

    /// A poller over the current sockets (rebuilt after a reload).
    func makePoller() -> ZmqPoller {
        let poller = ZmqPoller(capacity: sockets.sockets.count)
        for s in sockets.sockets { _ = poller.add(s) }
        return poller
    }

    @inline(__always)
    func receiveBatch(_ socket: ZmqSocket, source: Int, message: ZmqMultipartMessage, limit: Int) -> Int {
        // Read once per batch: `pipeline` and `authenticated` are vars (a reload swaps them), and
        // each access to a class var costs a dynamic exclusivity check.
        let pipeline = self.pipeline
        let authenticated = self.authenticated[source]
        var n = 0
        while n < limit {
            let got: Bool
            do { got = try socket.receive(into: message, dontWait: true) } catch {
                if let z = error as? ZmqError, z.isInterrupted { continue }
                logger.error("receive failed", metadata: ["source": "\(sockets.names[source])", "error": "\(error)"])
                return n
            }
            if !got { return n }
            n += 1
            let count = message.frameCount + message.extraFrames
            pipeline.process(frameCount: count, first: message.frame(0),
                             second: message.frameCount > 1 ? message.frame(1) : UnsafeRawBufferPointer(start: nil, count: 0),
                             source: source,
                             publisher: authenticated ? Self.publisher(of: message, permissions: pipeline.permissions) : -1)
        }
        return n
    }

    /// The publisher index of a CURVE source's message (its ZAP user id), -1 for none.
    /// No allocation: the user id's bytes are compared with the known publisher names.
    @inline(__always)
    private static func publisher(of message: ZmqMultipartMessage, permissions: PublisherPermissions) -> Int {
        guard let user = message.propertyBytes("User-Id") else { return -1 }
        return permissions.index(ofUserID: user) ?? -1
    }

    /// Keep-alive and live status for systemd (no-ops without a notify socket).
    private func heartbeat(now: Int64) {
        guard notifier.isEnabled else { return }
        if notifier.watchdogIntervalMillis != nil { notifier.watchdog() }
        let events = receivedTotal
        let seconds = Double(max(1, now - lastStatus.at)) / 1000
        let rate = lastStatus.at == 0 ? 0 : Double(events - lastStatus.events) / seconds
        lastStatus = (now, events)
        let rejects = RejectReason.allCases.reduce(Int64(0)) { $0 + pipeline.counters.rejectCount($1) }
        notifier.status("\(Int(rate.rounded())) events/s, \(events) events, \(rejects) rejects, \(pipeline.engine.openCellCount) open windows")
    }

    func flush() {
        var f = pipeline.flush()
        for n in f.batch.labelOverflows {
            logger.warning("metric over max_label_sets: new label sets are counted under {\"__overflow__\":\"true\"}", metadata: [
                "metric": "\(n.metric)", "period": "\(n.period)", "window_start": "\(Timestamp.formatRFC3339(n.windowStart))",
                "max_label_sets": "\(n.maxLabelSets)",
            ])
        }
        f.counters += refusals.deltas()
        writer.submit(f, now: clock.nowMillis(), openCells: pipeline.engine.openCellCount)
    }
}
