/// A literal in a filter expression.
public enum FilterLiteral: Sendable, Equatable {
    case string(String)
    case number(Double)
    case bool(Bool)
    case null
}

/// A comparison operator in a filter: `= != < <= > >=`.
public enum ComparisonOperator: String, Sendable, Equatable, CaseIterable {
    case equal = "="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// A metric's event filter, as written in the config:
///
///     status >= 500 and route != "/health"
///     retailer in ["a", "b"] or not exists(bot)
///     prefix(route, "/api/")
///
/// The tree is the syntax; ``CompiledFilter`` is what the hot path evaluates.
public indirect enum FilterExpr: Sendable, Equatable {
    /// `field op literal`.
    case compare(field: String, op: ComparisonOperator, value: FilterLiteral)
    /// `field in [literal, ...]`.
    case oneOf(field: String, values: [FilterLiteral])
    /// `exists(field)`: present and not null.
    case exists(field: String)
    /// `prefix(field, "text")`: a string field starting with the text.
    case hasPrefix(field: String, prefix: String)
    case and(FilterExpr, FilterExpr)
    case or(FilterExpr, FilterExpr)
    case not(FilterExpr)

    /// Every field the expression reads, in order of first use.
    public var fields: [String] {
        var out: [String] = []
        func visit(_ e: FilterExpr) {
            switch e {
            case .compare(let f, _, _), .oneOf(let f, _), .exists(let f), .hasPrefix(let f, _):
                if !out.contains(f) { out.append(f) }
            case .and(let a, let b), .or(let a, let b): visit(a); visit(b)
            case .not(let a): visit(a)
            }
        }
        visit(self)
        return out
    }
}
