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
///
/// Event journal: each message of a journaled source gets the next `seq` and its frames are
/// copied into a ``JournalBatch``, handed to the writer every `[journal] commit_interval`, when
/// it holds ``JournalInFlight/handBytes``, and before every flush; a flush's `journalPosition`
/// is the last `seq` handed, so the state it writes covers exactly the messages up to it.
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
    /// Large payloads are parsed on a second thread (see ``DecodeAhead``).
    let ahead: DecodeAhead

    /// The loop's side of the event journal.
    struct Journal {
        /// `[journal]`: the commit interval and the backlog limit.
        var config: JournalConfig
        /// The last `seq` used (numbering continues after it) and the stored checkpoint position.
        var lastSeq: Int64
        var position: Int64
        var inFlight: JournalInFlight
    }
    /// Per source: `journal = true` (``SourceSockets/journaled``; a reload renumbers sources).
    var journaled: [Bool]
    /// `[journal] commit_interval` as configured (committing an empty batch does nothing).
    let journalCommitInterval: Int64
    private let maxBacklogBytes: Int
    private let inFlight: JournalInFlight
    private var journalBatch: JournalBatch
    /// The last `seq` given to a message, and the last one a flush's checkpoint carried.
    private var lastSeq: Int64
    private var checkpointed: Int64
    /// Per source: messages not journaled because the backlog was full, since the last flush.
    var backlogDropped: [Int64]
    /// Counter increments the next flush carries (journal replay's skipped rows).
    var pendingCounters: [CounterDelta] = []

    init(pipeline: IngestPipeline, sockets: SourceSockets, writer: FlushWriter, clock: any WallClock, logger: Logger,
         notifier: SystemdNotifier = SystemdNotifier(socketPath: nil), health: DaemonHealth? = nil,
         store: KPIStore? = nil, metrics: SelfMetrics? = nil, journal: Journal) {
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
        self.ahead = DecodeAhead(pipeline: pipeline)
        journaled = sockets.journaled
        journalCommitInterval = max(1, journal.config.commitIntervalMillis)
        maxBacklogBytes = journal.config.maxBacklogBytes
        inFlight = journal.inFlight
        journalBatch = journal.inFlight.take()
        lastSeq = journal.lastSeq
        checkpointed = journal.position
        backlogDropped = journaled.map { _ in 0 }
    }

    /// Asks the loop to stop; safe from any thread.
    public func requestStop() { stopFlag.store(true, ordering: .releasing) }

    /// Runs the loop until ``requestStop()``; then drains, flushes and returns.
    func run() {
        var poller = makePoller()
        var nextFlush = MonotonicClock.millis() + flushInterval
        var nextHeartbeat = MonotonicClock.millis()
        var nextJournalCommit = MonotonicClock.millis() + journalCommitInterval
        while !stopFlag.load(ordering: .acquiring) {
            // A safe point: no message is half processed.
            if reloadPending.load(ordering: .acquiring), applyPendingReload() {
                poller = makePoller()
                nextFlush = MonotonicClock.millis() + flushInterval
            }
            var received = 0
            for (i, socket) in sockets.sockets.enumerated() {
                received += receiveBatch(socket, source: i, limit: batchPerSocket)
            }
            refusals.poll(sockets.monitors, names: sockets.names)
            let now = MonotonicClock.millis()
            health?.loopBeat(now)
            if now >= nextJournalCommit {
                handJournal()
                nextJournalCommit = now + journalCommitInterval
            }
            inFlight.publishPending(messages: journalBatch.entries.count, bytes: journalBatch.byteCount)
            if now >= nextFlush {
                flush()
                nextFlush = now + flushInterval
            }
            if now >= nextHeartbeat {
                heartbeat(now: now)
                nextHeartbeat = now + heartbeatMillis
            }
            if received == 0 {
                let wait = Int(max(1, min(50, nextFlush - now, nextHeartbeat - now, nextJournalCommit - now)))
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
                got += receiveBatch(socket, source: i, limit: 4096)
            }
            drained += got
            if got == 0 { break }
        }
        flush()
        ahead.stop()
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

    /// Receives up to `limit` messages from `socket` and processes them; large payloads are
    /// parsed on the decoder thread (see ``DecodeAhead``), and every one of them is folded
    /// before this returns.
    @inline(__always)
    func receiveBatch(_ socket: ZmqSocket, source: Int, limit: Int) -> Int {
        // Read once per batch: `pipeline` and `authenticated` are vars (a reload swaps them), and
        // each access to a class var costs a dynamic exclusivity check.
        let pipeline = self.pipeline
        let authenticated = self.authenticated[source]
        let journaled = self.journaled[source]
        let ahead = self.ahead
        let maxEvents = pipeline.config.limits.maxEventsPerFrame
        defer { ahead.drain(into: pipeline) }
        var n = 0
        while n < limit {
            let message = ahead.nextMessage(folding: pipeline)
            let got: Bool
            do { got = try socket.receive(into: message, dontWait: true) } catch {
                if let z = error as? ZmqError, z.isInterrupted { continue }
                logger.error("receive failed", metadata: ["source": "\(sockets.names[source])", "error": "\(error)"])
                return n
            }
            if !got { return n }
            n += 1
            let count = message.frameCount + message.extraFrames
            let first = message.frame(0)
            let second = message.frameOrEmpty(1)
            let publisher = authenticated ? Self.publisher(of: message, permissions: pipeline.permissions) : -1
            if journaled, count > 0 { journal(count, first, second, source: source, publisher: publisher) }
            let payload = IngestPipeline.payloadFrame(frameCount: count, first: first, second: second)
            if ahead.shouldSubmit(payloadBytes: payload?.count ?? 0) {
                ahead.submit(source: source, publisher: publisher, frameCount: count, payload: payload, maxEvents: maxEvents)
                ahead.foldReady(into: pipeline)
            } else {
                pipeline.process(frameCount: count, first: first, second: second, source: source, publisher: publisher)
            }
        }
        return n
    }

    /// Appends one message to the journal batch, unless the backlog (received, not committed)
    /// would pass `max_backlog_bytes`: then it is only counted, and a crash would lose it.
    @inline(__always)
    private func journal(_ count: Int, _ first: UnsafeRawBufferPointer, _ second: UnsafeRawBufferPointer, source: Int,
                         publisher: Int) {
        let size = JournalBatch.encodedSize(frameCount: count, first: first, second: second)
        if journalBatch.byteCount + inFlight.handedUncommittedBytes + size > maxBacklogBytes {
            backlogDropped[source] += 1
            return
        }
        lastSeq += 1
        journalBatch.append(seq: lastSeq, source: source, publisher: publisher, receivedAt: clock.nowMillis(),
                            frameCount: count, first: first, second: second)
        if journalBatch.byteCount >= JournalInFlight.handBytes { handJournal() }
    }

    /// Hands the journal batch to the writer's queue (committed in order with the flushes).
    private func handJournal() {
        guard !journalBatch.isEmpty else { return }
        inFlight.hand(journalBatch)
        writer.submitJournal(journalBatch, sources: pipeline.sources, publishers: pipeline.permissions.names)
        journalBatch = inFlight.take()
        inFlight.publishPending(messages: 0, bytes: 0)
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

    /// An increment of the per-source counter `name` for source index `source`.
    private func sourceCounter(_ name: String, source: Int, delta: Int64) -> CounterDelta {
        CounterDelta(name: name, labels: CanonicalLabels.json(["source": sockets.names[source]]), delta: delta)
    }

    func flush() {
        // The journal first: the flush's checkpoint covers every message handed so far.
        handJournal()
        var f = pipeline.flush()
        for n in f.batch.labelOverflows {
            logger.warning("metric over max_label_sets: new label sets are counted under {\"__overflow__\":\"true\"}", metadata: [
                "metric": "\(n.metric)", "period": "\(n.period)", "window_start": "\(Timestamp.formatRFC3339(n.windowStart))",
                "max_label_sets": "\(n.maxLabelSets)",
            ])
        }
        f.counters += refusals.deltas()
        f.counters += pendingCounters
        pendingCounters = []
        for (i, n) in ahead.takeCounts() where i < sockets.names.count {
            f.counters.append(sourceCounter("messages_decoded_ahead", source: i, delta: n))
        }
        for (i, n) in backlogDropped.enumerated() where n > 0 {
            f.counters.append(sourceCounter("journal_backlog_dropped", source: i, delta: n))
            backlogDropped[i] = 0
        }
        let position = lastSeq != checkpointed ? lastSeq : nil
        checkpointed = lastSeq
        writer.submit(f, now: clock.nowMillis(), openCells: pipeline.engine.openCellCount, journalPosition: position)
    }
}
