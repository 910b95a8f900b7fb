import Foundation

/// A half-open window `[start, end)` of event time, in epoch milliseconds (UTC instants).
public struct WindowBounds: Sendable, Hashable {
    public var start: EpochMillis
    public var end: EpochMillis
    public init(start: EpochMillis, end: EpochMillis) {
        self.start = start
        self.end = end
    }
    @inlinable public func contains(_ t: EpochMillis) -> Bool { t >= start && t < end }
}

/// Computes calendar windows (minute, hour, day, ISO week, month) in one IANA time zone.
///
/// Days are calendar days in the zone, so a day is 23 or 25 hours long across a DST change
/// (and in zones such as Asia/Beirut, where the change happens at midnight, a day can start at
/// 01:00 local time). Weeks are ISO weeks: they start on Monday at local midnight.
///
/// Cost: the first lookup in a window asks Foundation's `Calendar` (microseconds); later lookups
/// that fall in one of the two most recent windows of that period are two comparisons. One
/// instance belongs to one thread.
public final class CalendarWindowing: @unchecked Sendable {
    public let timeZone: TimeZone
    private let calendar: Calendar
    // Two-entry cache per period: the most recent window and the one before it, so that
    // out-of-order events around a boundary do not thrash.
    private var recent: [WindowBounds]
    private var previous: [WindowBounds]

    /// Creates windowing for `timeZone`.
    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
        var cal = Calendar(identifier: .iso8601)
        cal.timeZone = timeZone
        cal.firstWeekday = 2 // Monday
        cal.minimumDaysInFirstWeek = 4
        self.calendar = cal
        let empty = WindowBounds(start: 0, end: 0)
        recent = Array(repeating: empty, count: CalendarPeriod.allCases.count)
        previous = recent
    }

    /// Creates windowing for the zone with this IANA identifier, or nil when it is unknown.
    public convenience init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.init(timeZone: zone)
    }

    /// The window of `period` that contains the instant `millis`.
    @inline(__always)
    public func window(containing millis: EpochMillis, period: CalendarPeriod) -> WindowBounds {
        let p = period.index
        let r = recent[p]
        if millis >= r.start && millis < r.end { return r }
        let q = previous[p]
        if millis >= q.start && millis < q.end { return q }
        let w = compute(millis, period)
        previous[p] = r
        recent[p] = w
        return w
    }

    /// The window of the same period that starts where `window` ends.
    public func next(after window: WindowBounds, period: CalendarPeriod) -> WindowBounds {
        compute(window.end, period)
    }

    /// The window of the same period that ends where `window` starts.
    public func previous(before window: WindowBounds, period: CalendarPeriod) -> WindowBounds {
        compute(window.start - 1, period)
    }

    private func compute(_ millis: EpochMillis, _ period: CalendarPeriod) -> WindowBounds {
        // Floor to whole seconds first: Foundation's Date is a Double of seconds.
        let seconds = Double(floorDiv(millis, 1000))
        let date = Date(timeIntervalSince1970: seconds)
        let component: Calendar.Component
        switch period {
        case .minute: component = .minute
        case .hour: component = .hour
        case .day: component = .day
        case .week: component = .weekOfYear
        case .month: component = .month
        }
        guard let interval = calendar.dateInterval(of: component, for: date) else {
            // Foundation cannot fail for these components in a valid zone; fall back to fixed sizes.
            let size: Int64 = [60_000, 3_600_000, 86_400_000, 604_800_000, 2_592_000_000][period.index]
            let start = floorDiv(millis, size) * size
            return WindowBounds(start: start, end: start + size)
        }
        let start = EpochMillis((interval.start.timeIntervalSince1970 * 1000).rounded())
        let end = EpochMillis((interval.end.timeIntervalSince1970 * 1000).rounded())
        return WindowBounds(start: start, end: end)
    }
}

extension CalendarPeriod {
    /// Dense index of the period, 0 for minute … 4 for month.
    @inlinable public var index: Int {
        switch self {
        case .minute: return 0
        case .hour: return 1
        case .day: return 2
        case .week: return 3
        case .month: return 4
        }
    }
}

/// Integer division rounding toward negative infinity.
@inlinable func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    let q = a / b
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q
}
