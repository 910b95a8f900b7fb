import Dispatch
import Foundation
import KPICore
import KPIPipeline
import Synchronization
import ZeroMQ

/// Parsing on a second thread: the ingest thread receives a large message into the next free
/// slot of a small ring and submits it; a decoder thread parses its payload into the slot's
/// ``DecodedPayload``; the ingest thread folds slots strictly in the order it received them.
/// So JSON decoding (about a third of the work per event) overlaps the fold of the previous
/// messages, and the pipeline, its engine and every counter stay on the ingest thread alone.
///
/// Order and state: a message is handed over when its payload is large, or when others are in
/// flight (it then queues behind them); a small message with nothing in flight is processed
/// inline. Either way events are folded in receive order. The ingest thread drains the ring
/// (``drain(into:)``) at the end of every receive batch: a flush, a reload or a stop always sees
/// every received message folded, exactly as without decode-ahead.
///
/// Small messages (under ``inlineBelow`` bytes of payload, e.g. one event) are decoded inline when
/// nothing is in flight: handing them over would cost more than it saves.
///
/// Hand-off: two atomic counters (submitted, decoded). A side with nothing to do yields its core a
/// few times, then parks on a semaphore; the other side signals only a parked side. No
/// allocation per message.
final class DecodeAhead: @unchecked Sendable {
    /// One message in flight: its frames (kept valid until the slot is reused) and its decoded payload.
    final class Slot {
        let message = ZmqMultipartMessage(maxFrames: 4)
        var payload: DecodedPayload
        var source = 0
        var publisher = -1
        var frameCount = 0
        var maxEvents = 0
        /// The frame the decoder thread parses into `payload`; nil when the pipeline rejects the
        /// message before decoding (e.g. an empty payload frame), and so nothing is decoded.
        var payloadFrame: UnsafeRawBufferPointer?

        init(payload: DecodedPayload) { self.payload = payload }
    }

    /// Payload bytes from which a message is handed to the decoder thread.
    let inlineBelow: Int
    /// `[kpid] decode_ahead` of the current pipeline's config (off: every message is inline).
    private var enabled: Bool
    private let slots: [Slot]
    /// Next slot to fold and next slot to fill (ingest thread only).
    private var head = 0
    private var tail = 0
    /// Slots submitted (written by the ingest thread) and decoded (by the decoder thread).
    private let submittedCount = Atomic<Int>(0)
    private let decodedCount = Atomic<Int>(0)
    /// Each side parks on its semaphore only after spinning: the flag says it is parked, so
    /// that the other side signals exactly when needed.
    private let decoderParked = Atomic<Bool>(false)
    private let ingestParked = Atomic<Bool>(false)
    private let wakeDecoder = DispatchSemaphore(value: 0)
    private let wakeIngest = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private var thread: Thread?
    /// The pipeline the slots' decoders were built for (a reload replaces the pipeline). Held, so
    /// that no later pipeline can be mistaken for it.
    private var builtFor: IngestPipeline
    /// Yields before a waiting side parks: the ingest thread waits for a decoder that is at work,
    /// the decoder for messages that may be a while.
    private let ingestSpins = 64
    private let decoderSpins = 8

    init(pipeline: IngestPipeline, depth: Int = 16, inlineBelow: Int = 2048) {
        self.inlineBelow = inlineBelow
        slots = (0..<max(1, depth)).map { _ in Slot(payload: pipeline.decodedPayload()) }
        builtFor = pipeline
        enabled = Self.enabled(pipeline.config)
    }

    /// `[kpid] decode_ahead`, by default on when the machine has a second CPU for it.
    static func enabled(_ config: KpidConfig) -> Bool {
        config.decodeAhead ?? (ProcessInfo.processInfo.activeProcessorCount > 1)
    }

    /// Per source index: messages parsed on the decoder thread since ``takeCounts()`` (the
    /// `messages_decoded_ahead{source}` counter).
    private var counts: [Int64] = []

    /// The per-source counts since the previous call, and resets them.
    func takeCounts() -> [(source: Int, messages: Int64)] {
        defer { for i in counts.indices { counts[i] = 0 } }
        return counts.enumerated().compactMap { $0.element > 0 ? ($0.offset, $0.element) : nil }
    }

    /// Messages submitted and not folded yet.
    var inFlight: Int { tail - head }

    /// Rebuilds the slots' decoders when `pipeline` is not the one they were built for (a reload
    /// calls it when it swaps the pipeline, whose config may extract other fields). Call only
    /// with nothing in flight.
    func prepare(for pipeline: IngestPipeline) {
        guard builtFor !== pipeline else { return }
        precondition(inFlight == 0, "DecodeAhead.prepare with messages in flight")
        for s in slots { s.payload = pipeline.decodedPayload() }
        builtFor = pipeline
        enabled = Self.enabled(pipeline.config)
    }

    /// The message to receive into: the next free slot's. If the ring is full, the oldest
    /// message is folded into `pipeline` first.
    @inline(__always)
    func nextMessage(folding pipeline: IngestPipeline) -> ZmqMultipartMessage {
        if inFlight == slots.count { foldOldest(into: pipeline) }
        return slots[tail % slots.count].message
    }

    /// Whether the message just received into ``nextMessage(folding:)`` should be handed to the
    /// decoder thread (else the caller processes it inline, from the same message object).
    @inline(__always)
    func shouldSubmit(payloadBytes: Int) -> Bool {
        inFlight > 0 || (enabled && payloadBytes >= inlineBelow)
    }

    /// Hands the message received into ``nextMessage(folding:)`` to the decoder thread, with its
    /// payload frame (``IngestPipeline/payloadFrame(frameCount:first:second:)``).
    func submit(source: Int, publisher: Int, frameCount: Int, payload: UnsafeRawBufferPointer?, maxEvents: Int) {
        let slot = slots[tail % slots.count]
        slot.source = source
        slot.publisher = publisher
        slot.frameCount = frameCount
        slot.payloadFrame = payload
        slot.maxEvents = maxEvents
        tail += 1
        if thread == nil { start() }
        submittedCount.store(tail, ordering: .sequentiallyConsistent)
        wake()
    }

    /// Wakes the decoder if it is parked.
    @inline(__always)
    private func wake() {
        if decoderParked.load(ordering: .sequentiallyConsistent), decoderParked.exchange(false, ordering: .sequentiallyConsistent) {
            wakeDecoder.signal()
        }
    }

    /// Folds the messages already decoded, without waiting.
    @inline(__always)
    func foldReady(into pipeline: IngestPipeline) {
        while inFlight > 0, decodedCount.load(ordering: .acquiring) > head { fold(into: pipeline) }
    }

    /// Folds every message in flight, waiting for the decoder thread as needed.
    @inline(__always)
    func drain(into pipeline: IngestPipeline) {
        while inFlight > 0 { foldOldest(into: pipeline) }
    }

    private func foldOldest(into pipeline: IngestPipeline) {
        let target = head
        Self.await(spins: ingestSpins, parked: ingestParked, wake: wakeIngest) { decodedCount.load(ordering: .acquiring) > target }
        fold(into: pipeline)
    }

    /// Waits until `ready()`: yields the core `spins` times, then parks on `wake` with `parked`
    /// set; the other side clears `parked` and signals after publishing (see ``submit`` and the
    /// decoder loop), and a side that finds `ready()` after setting `parked` takes back either
    /// the flag or the signal, so the semaphore stays balanced.
    @inline(__always)
    private static func await(spins: Int, parked: borrowing Atomic<Bool>, wake: DispatchSemaphore, _ ready: () -> Bool) {
        var n = 0
        while !ready() {
            if n < spins {
                n += 1
                sched_yield()
                continue
            }
            parked.store(true, ordering: .sequentiallyConsistent)
            if ready() {
                // Take back the flag; if the other side took it first, its signal is coming.
                if !parked.exchange(false, ordering: .sequentiallyConsistent) { wake.wait() }
                return
            }
            wake.wait()
            n = 0
        }
    }

    /// Folds the oldest slot (its decoding is complete).
    private func fold(into pipeline: IngestPipeline) {
        let slot = slots[head % slots.count]
        head += 1
        if slot.source >= counts.count { counts += Array(repeating: 0, count: slot.source + 1 - counts.count) }
        counts[slot.source] += 1
        let m = slot.message
        pipeline.process(frameCount: slot.frameCount, first: m.frame(0), second: m.frameOrEmpty(1), source: slot.source,
                         publisher: slot.publisher, decoded: slot.payloadFrame == nil ? nil : slot.payload)
    }

    /// The decoder thread's loop: decodes submitted slots in order until ``stop()``.
    private func decodeLoop() {
        var next = 0
        while true {
            Self.await(spins: decoderSpins, parked: decoderParked, wake: wakeDecoder) {
                submittedCount.load(ordering: .acquiring) > next || stopping.load(ordering: .acquiring)
            }
            if stopping.load(ordering: .acquiring) { return }
            let slot = slots[next % slots.count]
            if let payload = slot.payloadFrame { slot.payload.decode(payload, maxEvents: slot.maxEvents) }
            next += 1
            decodedCount.store(next, ordering: .sequentiallyConsistent)
            if ingestParked.exchange(false, ordering: .sequentiallyConsistent) { wakeIngest.signal() }
        }
    }

    private func start() {
        let t = Thread { [self] in decodeLoop() }
        t.name = "kpid-decode"
        thread = t
        t.start()
    }

    /// Stops the decoder thread (after ``drain(into:)``: nothing may be in flight).
    func stop() {
        guard thread != nil else { return }
        stopping.store(true, ordering: .sequentiallyConsistent)
        if decoderParked.exchange(false, ordering: .sequentiallyConsistent) { wakeDecoder.signal() }
        thread = nil
    }
}
