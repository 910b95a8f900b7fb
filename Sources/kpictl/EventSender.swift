import Foundation
import ZeroMQ

/// How `kpictl` reaches kpid: a PUSH or PUB socket connected to one endpoint.
enum SenderSocketKind: String, CaseIterable, Sendable {
    case push, pub
}

/// Sends batches of NDJSON lines as ZeroMQ messages, optionally behind a topic frame, at an
/// optional rate. Closing waits (bounded by linger) until queued messages are handed to the
/// network.
final class EventSender {
    let context: ZmqContext
    let socket: ZmqSocket
    let topic: String?
    private var sentEvents = 0
    private let start = Date()
    private let rate: Double

    /// `curve`: the server's public key and this client's key pair (Z85), or nil for a plain connection.
    init(endpoint: String, kind: SenderSocketKind, topic: String?, rate: Double, joinDelayMillis: Int,
         curve: (server: String, publicKey: String, secretKey: String)? = nil) throws {
        context = try ZmqContext()
        socket = try ZmqSocket(context: context, kind: kind == .push ? .push : .pub, lingerMilliseconds: 10_000)
        try socket.setSendHighWaterMark(kind == .pub ? 1_000_000 : 100_000)
        if let curve {
            try socket.setCurveServerKey(curve.server)
            try socket.setCurvePublicKey(curve.publicKey)
            try socket.setCurveSecretKey(curve.secretKey)
        }
        try socket.connect(endpoint)
        self.topic = topic
        self.rate = rate
        if joinDelayMillis > 0 {
            // PUB/SUB: a subscriber misses what is published before its subscription arrives.
            Thread.sleep(forTimeInterval: Double(joinDelayMillis) / 1000)
        }
    }

    /// Sends `lines` (each one JSON event) as one NDJSON message.
    func send(lines: [Substring]) throws {
        guard !lines.isEmpty else { return }
        if rate > 0 {
            let due = start.addingTimeInterval(Double(sentEvents) / rate)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        }
        let payload = lines.joined(separator: "\n")
        if let topic {
            _ = try socket.send(topic, more: true)
        }
        _ = try socket.send(payload)
        sentEvents += lines.count
    }

    var eventsSent: Int { sentEvents }

    func close() {
        socket.close()
        context.shutdown()
    }
}
