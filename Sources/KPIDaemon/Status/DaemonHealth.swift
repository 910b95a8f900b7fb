import Synchronization

/// Liveness of the daemon's two working parts, for `/healthz`: the ingest loop stamps every
/// round, the flush writer stamps every write and counts flushes waiting for a retry.
///
/// Healthy means: the loop went round less than `staleAfterMillis` ago, and the writer has no
/// failed flush waiting (a full disk or a locked database makes kpid unhealthy until it catches
/// up). Lock-free: stamping is one relaxed atomic store.
public final class DaemonHealth: Sendable {
    private let loopBeat = Atomic<Int64>(0)
    private let lastWrite = Atomic<Int64>(0)
    private let backlog = Atomic<Int>(0)
    /// How old the loop's last round may be.
    public let staleAfterMillis: Int64

    public init(staleAfterMillis: Int64) {
        self.staleAfterMillis = staleAfterMillis
    }

    /// The ingest loop went round at monotonic time `now`.
    @inline(__always) public func loopBeat(_ now: Int64) { loopBeat.store(now, ordering: .relaxed) }
    /// The writer finished a write at monotonic time `now`, with `failedFlushes` left to retry.
    public func wrote(at now: Int64, failedFlushes: Int) {
        lastWrite.store(now, ordering: .relaxed)
        backlog.store(failedFlushes, ordering: .relaxed)
    }

    /// Healthy or not at monotonic time `now`, with the reasons when not.
    public func check(now: Int64) -> (healthy: Bool, problems: [String]) {
        var problems: [String] = []
        let beat = loopBeat.load(ordering: .relaxed)
        if beat == 0 {
            problems.append("ingest loop not started")
        } else if now - beat > staleAfterMillis {
            problems.append("ingest loop silent for \(now - beat) ms")
        }
        let failed = backlog.load(ordering: .relaxed)
        if failed > 0 { problems.append("\(failed) flush(es) failed and wait for a retry") }
        return (problems.isEmpty, problems)
    }

    /// Monotonic time of the last successful write, or 0.
    public var lastWriteMillis: Int64 { lastWrite.load(ordering: .relaxed) }
}
