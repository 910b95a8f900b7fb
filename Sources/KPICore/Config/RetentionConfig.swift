/// How long final rows of `aggregates` are kept, per period (`[retention]`): rows whose window
/// ended longer ago than this (against the wall clock) are deleted, a bounded batch at a time.
/// Open (non-final) rows are never deleted. A period without an entry is kept forever.
///
/// Defaults: minute rows 7 days, hour rows and rolling windows 90 days, day, week and month rows
/// forever. (The qualified-events log has its own `log_retention` per pipeline.)
public struct RetentionConfig: Sendable, Equatable {
    /// Period (`minute`, `hour`, `day`, `week`, `month`, `rolling`) → milliseconds to keep.
    public var keepMillis: [String: Int64] = ["minute": 7 * 86_400_000, "hour": 90 * 86_400_000, "rolling": 90 * 86_400_000]

    /// The keys of `[retention]`.
    public static let periods = ["minute", "hour", "day", "week", "month", "rolling"]

    public init() {}
}
