/// Event time in the whole of kpid: milliseconds since the Unix epoch, UTC.
public typealias EpochMillis = Int64

/// A source of "now". The core never reads the system clock; daemons pass a
/// ``SystemClock`` and tests pass a ``ManualClock``.
public protocol WallClock: Sendable {
    /// The current time in epoch milliseconds.
    func nowMillis() -> EpochMillis
}

/// A clock that tests set by hand.
public final class ManualClock: WallClock, @unchecked Sendable {
    private var value: EpochMillis
    public init(_ start: EpochMillis) { value = start }
    public func nowMillis() -> EpochMillis { value }
    /// Moves the clock to `millis`.
    public func set(_ millis: EpochMillis) { value = millis }
    /// Moves the clock forward by `millis`.
    public func advance(_ millis: EpochMillis) { value += millis }
}
