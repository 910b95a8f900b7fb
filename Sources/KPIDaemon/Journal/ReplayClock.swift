import KPICore
import Synchronization

/// The pipeline's wall clock, which journal replay can hold at a message's receive time, so that
/// a replayed message is stamped (events without `ts`) and bounded (`max_future`) as it was when
/// it was received. Outside replay it reads the underlying clock; the extra cost is one relaxed
/// atomic load per read.
public final class ReplayClock: WallClock {
    private let base: any WallClock
    private let held = Atomic<Int64>(.min)

    public init(base: any WallClock) { self.base = base }

    @inline(__always)
    public func nowMillis() -> EpochMillis {
        let t = held.load(ordering: .relaxed)
        return t == .min ? base.nowMillis() : t
    }

    /// Holds the clock at `millis` until ``release()``.
    func hold(at millis: EpochMillis) { held.store(millis, ordering: .relaxed) }

    /// Back to the underlying clock.
    func release() { held.store(.min, ordering: .relaxed) }
}
