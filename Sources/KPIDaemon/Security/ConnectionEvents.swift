import KPICore
import ZeroMQ

/// Counts connection events of the source sockets, read from their socket monitors, for the
/// `counters` table:
/// - `curve_refused{source,endpoint,reason}`: refused CURVE handshakes;
/// - `peer_disconnects{source,endpoint}`: connections libzmq dropped (`ZMQ_EVENT_DISCONNECTED`).
///   This includes a peer that sent a message over `limits.max_message_bytes` (libzmq closes the
///   connection and reports no more specific event, so that cause cannot be told apart from a
///   peer that closed or lost its connection), and peers that fail a CURVE handshake.
///
/// Reasons: `unknown_key` (the ZAP handler refused the client's key), `mechanism_mismatch` (a
/// plain-text or PLAIN client), `protocol_error` (another handshake protocol error),
/// `handshake_error` (the handshake failed without details, e.g. the peer went away).
///
/// Owned by the ingest loop's thread, which also owns the monitored sockets; ``poll(_:names:)``
/// reads pending monitor events without blocking. Memory: one entry per (source, endpoint,
/// reason) seen; allocates per refused handshake (cold path).
struct ConnectionEvents {
    /// Events monitored on CURVE sources (handshake failures and disconnects).
    static let curveEvents = ZmqMonitor.handshakeFailureEvents | ZmqMonitor.disconnectedEvent
    /// Events monitored on plain sources.
    static let plainEvents = ZmqMonitor.disconnectedEvent
    private var counts: [Key: Int64] = [:]
    private var reported: [Key: Int64] = [:]

    struct Key: Hashable {
        /// `curve_refused` or `peer_disconnects`.
        var name: String
        var source: String
        var endpoint: String
        var reason: String
    }

    /// The counter reason of a monitor event, nil for events that are not refusals.
    /// (Disconnects are counted separately, without a reason.)
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
                if event.kind == .disconnected {
                    counts[Key(name: "peer_disconnects", source: names[i], endpoint: event.endpoint, reason: ""), default: 0] += 1
                    n += 1
                    continue
                }
                guard let reason = Self.reason(event) else { continue }
                counts[Key(name: "curve_refused", source: names[i], endpoint: event.endpoint, reason: reason), default: 0] += 1
                n += 1
            }
        }
        return n
    }

    /// Total refusals counted so far for `source`.
    func total(source: String) -> Int64 {
        counts.reduce(0) { $0 + ($1.key.source == source && $1.key.name == "curve_refused" ? $1.value : 0) }
    }

    /// Total disconnects counted so far for `source`.
    func disconnects(source: String) -> Int64 {
        counts.reduce(0) { $0 + ($1.key.source == source && $1.key.name == "peer_disconnects" ? $1.value : 0) }
    }

    /// The increments since the previous call.
    mutating func deltas() -> [CounterDelta] {
        var out: [CounterDelta] = []
        for (key, n) in counts where n != reported[key, default: 0] {
            var labels = ["source": key.source, "endpoint": key.endpoint]
            if !key.reason.isEmpty { labels["reason"] = key.reason }
            out.append(CounterDelta(name: key.name, labels: CanonicalLabels.json(labels),
                                    delta: n - reported[key, default: 0]))
        }
        reported = counts
        return out
    }
}
