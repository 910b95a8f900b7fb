/// The per-(rule, label set) state machine, modelled on Prometheus's `rules/alerting.go`:
///
/// - condition holds: inactive/resolved → pending (`activeAt = now`); pending → firing once
///   `now - activeAt >= for` (at once when `for` is 0); firing stays firing.
/// - condition does not hold: pending → inactive; firing → resolved unless the condition held
///   within the last `keep_firing_for`; resolved stays resolved until it is forgotten.
///
/// `now` is the rule's clock (event-time watermark, or wall clock for `absent_for` rules).
/// Pure and allocation-free.
public enum AlertStateMachine {
    /// What a step changed, for the `alerts` history.
    public enum Transition: Sendable, Equatable {
        case none, becamePending, fired, resolved, cancelled
    }

    /// Advances `a` to `now` given whether the condition holds.
    public static func step(_ a: inout AlertInstance, holds: Bool, now: EpochMillis,
                            forMillis: Int64, keepFiringForMillis: Int64) -> Transition {
        if holds {
            a.lastTrueAt = now
            switch a.phase {
            case .inactive, .resolved:
                a.activeAt = now
                a.resolvedAt = nil
                a.firedAt = nil
                if forMillis <= 0 {
                    a.phase = .firing
                    a.firedAt = now
                    return .fired
                }
                a.phase = .pending
                return .becamePending
            case .pending:
                if now &- (a.activeAt ?? now) >= forMillis {
                    a.phase = .firing
                    a.firedAt = now
                    return .fired
                }
                return .none
            case .firing:
                return .none
            }
        }
        switch a.phase {
        case .pending:
            a.phase = .inactive
            a.activeAt = nil
            return .cancelled
        case .firing:
            if keepFiringForMillis > 0, let last = a.lastTrueAt, now &- last < keepFiringForMillis {
                return .none
            }
            a.phase = .resolved
            a.resolvedAt = now
            return .resolved
        case .inactive, .resolved:
            return .none
        }
    }
}
