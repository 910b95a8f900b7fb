import Dispatch
import KPIStore
import Logging
import Synchronization

/// Runs the store's WAL checkpoints on a queue of its own (``KPIStore/checkpointWAL()``), at
/// most one at a time and at most one per ``minimumIntervalMillis``, so that neither the
/// ingest loop nor the flush writer ever waits for the copy into the database file or its fsync.
final class WALCheckpointer: Sendable {
    private let store: KPIStore
    private let logger: Logger
    private let queue = DispatchQueue(label: "kpid.wal-checkpoint", qos: .utility)
    private let running = Atomic<Bool>(false)
    private let lastStart = Atomic<Int64>(0)
    let minimumIntervalMillis: Int64

    init(store: KPIStore, logger: Logger, minimumIntervalMillis: Int64 = 250) {
        self.store = store
        self.logger = logger
        self.minimumIntervalMillis = minimumIntervalMillis
    }

    /// Starts a checkpoint unless one runs or one started less than the minimum interval ago.
    func request() {
        let now = MonotonicClock.millis()
        guard now - lastStart.load(ordering: .relaxed) >= minimumIntervalMillis,
              running.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return }
        lastStart.store(now, ordering: .relaxed)
        queue.async {
            defer { self.running.store(false, ordering: .releasing) }
            do { try self.store.checkpointWAL() } catch {
                self.logger.warning("WAL checkpoint failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
