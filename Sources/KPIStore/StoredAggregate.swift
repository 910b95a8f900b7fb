import Foundation
import GRDB
import KPICore

/// A row of `aggregates` as read back by `kpictl query` and tests.
public struct StoredAggregate: Sendable, Equatable, Codable, FetchableRecord {
    public var metric: String
    public var period: String
    public var windowStart: String
    public var windowEnd: String
    public var labels: String
    public var value: Double?
    public var samples: Int64
    public var final: Bool
    public var updatedAt: String
    /// Derived metrics: why `value` is NULL (`division_by_zero`, `missing_operand`, `no_previous_window`).
    public var reason: String?
    /// Derived metrics: a ratio's numerator, or the current value of change/delta.
    public var numerator: Double?
    /// Derived metrics: a ratio's denominator, or the previous window's value of change/delta.
    public var denominator: Double?

    /// True when the value is an estimate (quantile sketch, or distinct count above its exact limit).
    public var estimated: Bool

    enum CodingKeys: String, CodingKey {
        case metric, period, labels, value, samples, final, estimated, reason, numerator, denominator
        case windowStart = "window_start"
        case windowEnd = "window_end"
        case updatedAt = "updated_at"
    }
}

/// A row of `counters`.
public struct StoredCounter: Sendable, Equatable, Codable, FetchableRecord {
    public var name: String
    public var labels: String
    public var value: Int64
    public var updatedAt: String
    enum CodingKeys: String, CodingKey {
        case name, labels, value
        case updatedAt = "updated_at"
    }
}

/// A row of `rejects`.
public struct StoredReject: Sendable, Equatable, Codable, FetchableRecord {
    public var id: Int64
    public var receivedAt: String
    public var reason: String
    public var source: String
    public var metric: String?
    public var detail: String?
    /// The first bytes of the rejected input.
    public var sample: Data
    enum CodingKeys: String, CodingKey {
        case id, reason, source, metric, detail, sample
        case receivedAt = "received_at"
    }
}
