/// A rolling window: a value over the last `span` of event time, recomputed at every `step`
/// boundary (`rolling = "7d"`, `step = "1h"` in `kpid.toml`).
///
/// Boundaries are the multiples of `step` since 1970-01-01T00:00Z (UTC, whatever the metric's
/// time zone). The value at boundary `B` aggregates the events with `B - span <= ts < B`. It is
/// built from *panes*: one partial aggregate per `step` of event time and label set, merged when
/// a value is emitted, so memory is `span / step` (plus the panes still open for lateness) cells
/// per label set, never one entry per event.
///
/// Invariants (checked by the config loader): `0 < step <= span`, `span` a whole multiple of
/// `step`, and at most ``maxPanes`` panes per window.
public struct RollingWindow: Sendable, Equatable {
    /// The span in milliseconds.
    public var spanMillis: Int64
    /// The step (pane length) in milliseconds.
    public var stepMillis: Int64
    /// The span as written in the config (`"7d"`); it names the period of stored rows.
    public var spanText: String

    /// Most panes in one window (`span / step`): bounds memory per label set and the merge cost
    /// of each emitted value.
    public static let maxPanes: Int64 = 10_080

    public init(spanMillis: Int64, stepMillis: Int64, spanText: String? = nil) {
        self.spanMillis = spanMillis
        self.stepMillis = stepMillis
        self.spanText = spanText ?? DurationParser.format(spanMillis)
    }

    /// The `period` of stored rows: `rolling:7d`.
    public var period: String { "rolling:\(spanText)" }

    /// Panes in one window.
    public var paneCount: Int64 { spanMillis / stepMillis }
}
