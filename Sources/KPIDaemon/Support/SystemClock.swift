import Foundation
import KPICore

/// The wall clock of the running daemon (`clock_gettime(CLOCK_REALTIME)`), in epoch milliseconds.
public struct SystemClock: WallClock {
    public init() {}
    public func nowMillis() -> EpochMillis {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return EpochMillis(ts.tv_sec) * 1000 + EpochMillis(ts.tv_nsec / 1_000_000)
    }
}

/// A monotonic clock for intervals (flush timers), in milliseconds.
enum MonotonicClock {
    static func millis() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000)
    }
}
