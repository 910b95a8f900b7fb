import Foundation
import GRDB
import KPICore

/// Retention of `aggregates`: final rows of a period are deleted once their window ended longer
/// ago than the period's retention (``RetentionConfig``).
extension KPIStore {
    /// Deletes at most `limit` final rows of `metric` whose period is `period` (`rolling` stands
    /// for every `rolling:SPAN`) and whose window ended before `cutoff`, in one short
    /// transaction, and returns how many it deleted. It walks the `(metric, period, window_end)`
    /// index, so a call costs the rows it deletes, not the table.
    public func pruneAggregates(metric: String, period: String, endedBefore cutoff: EpochMillis, limit: Int) throws -> Int {
        let end = Timestamp.formatRFC3339(cutoff)
        return try pool.write { db in
            let periodTest = period == "rolling" ? "period >= 'rolling:' AND period < 'rolling;'" : "period = ?"
            let args: StatementArguments = period == "rolling" ? [metric, end, limit] : [metric, period, end, limit]
            try db.execute(sql: """
                DELETE FROM aggregates WHERE (metric, period, window_start, labels) IN (
                    SELECT metric, period, window_start, labels FROM aggregates
                     WHERE metric = ? AND \(periodTest) AND window_end < ? AND final = 1 LIMIT ?)
                """, arguments: args)
            return db.changesCount
        }
    }
}
