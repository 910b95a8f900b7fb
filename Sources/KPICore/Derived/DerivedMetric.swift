/// An expression over other metrics of the same window and label set: what a `[[metrics]]`
/// entry with `expr` computes.
///
/// Operands are metric names (plain or derived). `change` and `delta` compare a window with the
/// window of the same period that ends where it starts (the previous calendar day, ISO week,
/// month… in the metric's zone).
public enum DerivedExpr: Sendable, Equatable {
    /// `a / b`.
    case ratio(String, String)
    /// `100 · a / b`.
    case percent(String, String)
    /// `a − b`.
    case difference(String, String)
    /// `(x − previous) / previous`: the relative change against the previous window.
    case change(String)
    /// `x − previous`: the absolute change against the previous window.
    case delta(String)
    /// `x / Σ x`: a label set's part of the sum of `x` over every label set of the same window
    /// (the share of one stock state among all listings of the day).
    case share(String)

    /// The operands, in order.
    public var operands: [String] {
        switch self {
        case .ratio(let a, let b), .percent(let a, let b), .difference(let a, let b): return [a, b]
        case .change(let x), .delta(let x), .share(let x): return [x]
        }
    }

    /// The function name as written in `kpid.toml`.
    public var function: String {
        switch self {
        case .ratio: return "ratio"
        case .percent: return "percent"
        case .difference: return "difference"
        case .change: return "change"
        case .delta: return "delta"
        case .share: return "share"
        }
    }

    /// True for `change` and `delta`, which read the previous window.
    public var readsPreviousWindow: Bool {
        switch self {
        case .change, .delta: return true
        default: return false
        }
    }

    /// True for `share`, whose value depends on every label set of the window.
    public var readsWholeWindow: Bool {
        if case .share = self { return true }
        return false
    }

    /// The expression as `kpid.toml` writes it: `ratio(bookings_ok, booking_attempts)`.
    public var configText: String { "\(function)(\(operands.joined(separator: ", ")))" }
}

/// A derived metric: a name, an expression, and the windows, labels and zone it inherits from its
/// operands (which all share them; the loader checks it).
public struct DerivedMetricDefinition: Sendable, Equatable {
    public var name: String
    public var expr: DerivedExpr
    /// The operands' windows.
    public var windows: [CalendarPeriod]
    /// The operands' group-by fields (label sets are matched as canonical JSON, so order is moot).
    public var groupBy: [String]
    /// The operands' zone; nil means the global one.
    public var timeZone: String?

    public init(name: String, expr: DerivedExpr, windows: [CalendarPeriod], groupBy: [String] = [],
                timeZone: String? = nil) {
        self.name = name
        self.expr = expr
        self.windows = windows
        self.groupBy = groupBy
        self.timeZone = timeZone
    }
}

/// Why a derived row has no value (`aggregates.reason`); its value is then NULL, never NaN or ±inf.
public enum DerivedReason: String, Sendable, CaseIterable {
    /// The divisor (`b` of a ratio or percent, the previous value of `change`) is 0.
    case divisionByZero = "division_by_zero"
    /// An operand has no row for the window and labels (and is not a `count`, `sum` or
    /// `distinct` whose absence means 0), or its row has no value.
    case missingOperand = "missing_operand"
    /// `change`/`delta`: the window immediately before has no row of the operand.
    case noPreviousWindow = "no_previous_window"
}
