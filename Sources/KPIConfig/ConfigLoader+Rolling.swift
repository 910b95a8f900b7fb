import KPICore
import TOMLKit

extension ConfigCompiler {
    /// A metric's `rolling` and `step`: both or neither; the step positive, no longer than the
    /// span, dividing it exactly, and at most ``RollingWindow/maxPanes`` steps per span.
    mutating func rollingWindow(_ t: TOMLTable, prefix: String) -> Read<RollingWindow> {
        let span = duration(t, "rolling", prefix: prefix, positive: true)
        let step = duration(t, "step", prefix: prefix, positive: true)
        switch (span, step) {
        case (.absent, .absent): return .absent
        case (.invalid, _), (_, .invalid): return .invalid
        case (.value, .absent):
            fail("\(prefix).rolling", "a rolling window needs a step",
                 hint: "add step = \"1h\": the rolling value is recomputed at every step boundary")
            return .invalid
        case (.absent, .value):
            fail("\(prefix).step", "step applies only to a rolling window",
                 hint: "add rolling = \"7d\" (the span), or remove step")
            return .invalid
        case (.value(let spanMillis), .value(let stepMillis)):
            let spanText = t["rolling"]?.string?.trimmingSpaces ?? DurationParser.format(spanMillis)
            let stepText = t["step"]?.string?.trimmingSpaces ?? DurationParser.format(stepMillis)
            if stepMillis > spanMillis {
                fail("\(prefix).step", "step \(quoted(stepText)) is longer than the rolling span \(quoted(spanText))",
                     hint: "the step is how often the value over the span is recomputed; e.g. rolling = \"7d\", step = \"1h\"")
                return .invalid
            }
            if spanMillis % stepMillis != 0 {
                fail("\(prefix).step", "the rolling span \(quoted(spanText)) is not a whole number of steps \(quoted(stepText))",
                     hint: "choose a step that divides the span, e.g. \(quoted(Self.suggestedStep(span: spanMillis, step: stepMillis)))")
                return .invalid
            }
            let panes = spanMillis / stepMillis
            if panes > RollingWindow.maxPanes {
                fail("\(prefix).step", "rolling \(quoted(spanText)) with step \(quoted(stepText)) keeps \(panes) panes per label set; at most \(RollingWindow.maxPanes)",
                     hint: "a longer step, e.g. \(quoted(Self.suggestedStep(span: spanMillis, step: (spanMillis + RollingWindow.maxPanes - 1) / RollingWindow.maxPanes)))")
                return .invalid
            }
            return .value(RollingWindow(spanMillis: spanMillis, stepMillis: stepMillis, spanText: spanText))
        }
    }

    /// A step of at least `step` that divides `span`, as a duration: the roundest one (whole
    /// days, hours, minutes or seconds) no more than twice `step`, else the smallest.
    static func suggestedStep(span: Int64, step: Int64) -> String {
        var smallest = span
        for unit: Int64 in [86_400_000, 3_600_000, 60_000, 1_000] where span % unit == 0 {
            var s = max(unit, (step + unit - 1) / unit * unit)
            while span % s != 0 { s += unit }
            if s <= 2 * step { return DurationParser.format(s) }
            smallest = min(smallest, s)
        }
        return DurationParser.format(smallest)
    }
}
