import KPIStore
import Synchronization

/// The journal batches between the ingest loop and the flush writer: spare batches for reuse,
/// and how much was received but is not committed yet (the journal lag, and what the backlog
/// limit bounds).
///
/// The loop fills a batch, ``hand(_:)``s it to the writer and ``take()``s an empty one; the
/// writer commits it and gives it back with ``committed(_:)``. A few batches are normally enough,
/// so after warm-up nothing is allocated. The loop's own unhanded bytes are published once per
/// round (``publishPending(messages:bytes:)``), never per message. Lock-free except the spare
/// list, touched twice per commit interval.
public final class JournalInFlight: Sendable {
    private let spare = Mutex<[JournalBatch]>([])
    private let handedMessages = Atomic<Int>(0)
    private let handedBytes = Atomic<Int>(0)
    private let pendingMessages = Atomic<Int>(0)
    private let pendingBytes = Atomic<Int>(0)

    public init() {}

    /// The loop hands its batch to the writer once it holds this many bytes, even before the
    /// commit interval: every batch then keeps one working size, and the spare ones are reused
    /// instead of new buffers being grown (and their fresh pages faulted in) under load.
    static let handBytes = 4 << 20
    /// Spare batches kept for reuse (at most `spareLimit` × ``handBytes`` of idle buffers).
    static let spareLimit = 8

    /// An empty batch: a spare one, or a new one sized for ``handBytes``.
    func take() -> JournalBatch {
        spare.withLock { $0.popLast() } ?? JournalBatch(capacity: Self.handBytes + (256 << 10))
    }

    /// The loop hands `batch` to the writer.
    func hand(_ batch: JournalBatch) {
        handedMessages.add(batch.entries.count, ordering: .relaxed)
        handedBytes.add(batch.byteCount, ordering: .relaxed)
    }

    /// The writer committed `batch`: it is emptied and kept for reuse.
    func committed(_ batch: JournalBatch) {
        handedMessages.subtract(batch.entries.count, ordering: .relaxed)
        handedBytes.subtract(batch.byteCount, ordering: .relaxed)
        batch.removeAll()
        spare.withLock { if $0.count < Self.spareLimit { $0.append(batch) } }
    }

    /// Bytes handed to the writer and not committed yet.
    @inline(__always) var handedUncommittedBytes: Int { handedBytes.load(ordering: .relaxed) }

    /// The loop's batch being filled (received, not handed yet).
    func publishPending(messages: Int, bytes: Int) {
        pendingMessages.store(messages, ordering: .relaxed)
        pendingBytes.store(bytes, ordering: .relaxed)
    }

    /// Messages and bytes received from journaled sources and not committed to the journal yet.
    public var lag: (messages: Int, bytes: Int) {
        (handedMessages.load(ordering: .relaxed) + pendingMessages.load(ordering: .relaxed),
         handedBytes.load(ordering: .relaxed) + pendingBytes.load(ordering: .relaxed))
    }
}
