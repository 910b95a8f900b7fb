import GRDB
import KPICore

extension KPIStore {
    /// The newest final row of each (metric, period, label set) of `metrics`: what the daemon
    /// seeds the ``DerivedStage`` with at startup, so that `change` and `delta` of the first
    /// windows after a restart can read the window before them.
    ///
    /// One pass over the rows of those metrics (SQLite takes the bare columns from the row holding
    /// the `MAX`). Throws ``StoreError``.
    public func latestFinalRows(metrics: [String]) throws -> [AggregateRow] {
        guard !metrics.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: metrics.count).joined(separator: ", ")
        let sql = """
            SELECT metric, period, MAX(window_start) AS window_start, window_end, labels, value, samples,
                   reason, numerator, denominator
              FROM aggregates
             WHERE final = 1 AND metric IN (\(marks))
             GROUP BY metric, period, labels
             ORDER BY metric, period, labels
            """
        do {
            return try pool.read { db in
                try Row.fetchAll(db, sql: sql, arguments: StatementArguments(metrics)).compactMap(Self.aggregateRow)
            }
        } catch {
            throw StoreError(path: path, message: "cannot read the final rows of \(metrics.joined(separator: ", ")): \(error)")
        }
    }

    private static func aggregateRow(_ r: Row) -> AggregateRow? {
        let startText: String = r["window_start"], endText: String = r["window_end"]
        guard let start = Timestamp.parseRFC3339(startText), let end = Timestamp.parseRFC3339(endText) else { return nil }
        return AggregateRow(metric: r["metric"], period: r["period"], windowStart: start, windowEnd: end,
                            labels: r["labels"], value: r["value"], samples: r["samples"], isFinal: true,
                            reason: r["reason"], numerator: r["numerator"], denominator: r["denominator"])
    }
}
