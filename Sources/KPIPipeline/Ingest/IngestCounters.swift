import KPICore

/// Health counters of the ingest path, kept as dense arrays so the hot path only increments.
///
/// Counts are cumulative since the pipeline was built; ``deltas(sources:types:)`` returns what
/// changed since its previous call, for the `counters` table (which sums them over the life of
/// the database).
public struct IngestCounters: Sendable {
    /// Events received, per source and per event type (the last type slot is "other": types no
    /// metric reads).
    public var received: [[Int64]] {
        (0..<messages.count).map { s in Array(receivedFlat[(s * typeSlots)..<((s + 1) * typeSlots)]) }
    }
    /// `received`, flat (source-major), so the hot path increments one array.
    private var receivedFlat: [Int64]
    private let typeSlots: Int
    /// Rejects per source and reason (``RejectReason`` order).
    public private(set) var rejects: [[Int64]]
    /// Events without `ts`, stamped with the receive time.
    public private(set) var timestampMissing: Int64 = 0
    /// Messages received per source.
    public private(set) var messages: [Int64]

    private var reported: IngestCountersSnapshot?

    init(sources: Int, types: Int) {
        typeSlots = types + 1
        receivedFlat = Array(repeating: 0, count: sources * (types + 1))
        rejects = Array(repeating: Array(repeating: 0, count: RejectReason.allCases.count), count: sources)
        messages = Array(repeating: 0, count: sources)
    }

    @inline(__always) mutating func countReceived(source: Int, type: Int) {
        precondition(type >= 0 && type < typeSlots, "event type \(type) out of range")
        receivedFlat[source * typeSlots + type] &+= 1
    }
    @inline(__always) mutating func countReject(source: Int, reason: RejectReason) { rejects[source][reason.ordinal] &+= 1 }
    @inline(__always) mutating func countMessage(source: Int) { messages[source] &+= 1 }
    @inline(__always) mutating func countTimestampMissing() { timestampMissing &+= 1 }

    /// Total rejects of `reason` over all sources.
    public func rejectCount(_ reason: RejectReason) -> Int64 {
        rejects.reduce(0) { $0 + $1[reason.ordinal] }
    }

    /// Total events received over all sources and types.
    public var receivedTotal: Int64 { receivedFlat.reduce(0, +) }
}

struct IngestCountersSnapshot: Sendable {
    var received: [[Int64]]
    var rejects: [[Int64]]
    var timestampMissing: Int64
    var messages: [Int64]
}

extension IngestCounters {
    /// The counter increments since the previous call, named and labelled for the `counters` table.
    mutating func deltas(sources: [String], types: [String]) -> [CounterDelta] {
        let prev = reported ?? IngestCountersSnapshot(
            received: received.map { $0.map { _ in 0 } }, rejects: rejects.map { $0.map { _ in 0 } },
            timestampMissing: 0, messages: messages.map { _ in 0 })
        var out: [CounterDelta] = []
        for (s, source) in sources.enumerated() {
            for (t, n) in received[s].enumerated() where n != prev.received[s][t] {
                let type = t < types.count ? types[t] : "(other)"
                out.append(CounterDelta(name: "events_received",
                                        labels: CanonicalLabels.json(["source": source, "type": type]),
                                        delta: n - prev.received[s][t]))
            }
            for (r, n) in rejects[s].enumerated() where n != prev.rejects[s][r] {
                out.append(CounterDelta(name: "rejects",
                                        labels: CanonicalLabels.json(["source": source, "reason": RejectReason.allCases[r].rawValue]),
                                        delta: n - prev.rejects[s][r]))
            }
            if messages[s] != prev.messages[s] {
                out.append(CounterDelta(name: "messages_received", labels: CanonicalLabels.json(["source": source]),
                                        delta: messages[s] - prev.messages[s]))
            }
        }
        if timestampMissing != prev.timestampMissing {
            out.append(CounterDelta(name: "ts_missing", labels: "{}", delta: timestampMissing - prev.timestampMissing))
        }
        reported = IngestCountersSnapshot(received: received, rejects: rejects, timestampMissing: timestampMissing, messages: messages)
        return out
    }
}

extension RejectReason {
    /// Dense index in `allCases` order.
    public var ordinal: Int { RejectReason.ordinals[self]! }
    private static let ordinals: [RejectReason: Int] = Dictionary(uniqueKeysWithValues: allCases.enumerated().map { ($1, $0) })
}
