import KPICore
import ZeroMQ

/// Counts refused CURVE handshakes per source, endpoint and reason, from the socket monitors of
/// the CURVE sources, for the `counters` table (`curve_refused{source,endpoint,reason}`).
///
/// Reasons: `unknown_key` (the ZAP handler refused the client's key), `mechanism_mismatch` (a
/// plain-text or PLAIN client), `protocol_error` (another handshake protocol error),
/// `handshake_error` (the handshake failed without details, e.g. the peer went away).
///
/// Owned by the ingest loop's thread, which also owns the monitored sockets; ``poll(_:names:)``
/// reads pending monitor events without blocking. Memory: one entry per (source, endpoint,
/// reason) seen; allocates per refused handshake (cold path).
struct CurveRefusals {
    static let events = ZmqMonitor.handshakeFailureEvents
    private var counts: [Key: Int64] = [:]
    private var reported: [Key: Int64] = [:]

    struct Key: Hashable {
        var source: String
        var endpoint: String
        var reason: String
    }

    /// The counter reason of a monitor event, nil for events that are not refusals.
    static func reason(_ event: ZmqMonitorEvent) -> String? {
        switch event.kind {
        case .handshakeFailedAuth: return "unknown_key"
        case .handshakeFailedProtocol(let code):
            return code == ZmqMonitor.mechanismMismatchCode ? "mechanism_mismatch" : "protocol_error"
        case .handshakeFailedNoDetail: return "handshake_error"
        default: return nil
        }
    }

    /// Reads every pending event of `monitors` (indexed like `names`). Returns the events counted.
    @discardableResult
    mutating func poll(_ monitors: [ZmqMonitor?], names: [String]) -> Int {
        var n = 0
        for (i, monitor) in monitors.enumerated() {
            guard let monitor else { continue }
            while let event = try? monitor.next(dontWait: true) {
                guard let reason = Self.reason(event) else { continue }
                counts[Key(source: names[i], endpoint: event.endpoint, reason: reason), default: 0] += 1
                n += 1
            }
        }
        return n
    }

    /// Total refusals counted so far for `source`.
    func total(source: String) -> Int64 {
        counts.reduce(0) { $0 + ($1.key.source == source ? $1.value : 0) }
    }

    /// The increments since the previous call.
    mutating func deltas() -> [CounterDelta] {
        var out: [CounterDelta] = []
        for (key, n) in counts where n != reported[key, default: 0] {
            out.append(CounterDelta(name: "curve_refused",
                                    labels: CanonicalLabels.json(["source": key.source, "endpoint": key.endpoint, "reason": key.reason]),
                                    delta: n - reported[key, default: 0]))
        }
        reported = counts
        return out
    }
}
