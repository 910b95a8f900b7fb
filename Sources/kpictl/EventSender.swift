import ArgumentParser
import Foundation
import KPICore
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
    /// `src` stamped on every event with a per-run `seq` counting from 1, or nil to send lines as they are.
    let source: String?
    private var sequence: Int64 = 0

    /// `curve`: the server's public key and this client's key pair (Z85), or nil for a plain connection.
    init(endpoint: String, kind: SenderSocketKind, topic: String?, rate: Double, joinDelayMillis: Int,
         curve: (server: String, publicKey: String, secretKey: String)? = nil, source: String? = nil) throws {
        self.source = source
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
        let payload = source.map { src in lines.map { stamp($0, source: src) }.joined(separator: "\n") }
            ?? lines.joined(separator: "\n")
        if let topic {
            _ = try socket.send(topic, more: true)
        }
        _ = try socket.send(payload)
        sentEvents += lines.count
    }

    var eventsSent: Int { sentEvents }

    /// `line` with `"src":…,"seq":N` added at the front of its object, so that kpid can count what
    /// was lost on the way (gaps), sent twice or restarted. A line that is not an object is sent as is.
    private func stamp(_ line: Substring, source: String) -> String {
        guard let brace = line.firstIndex(where: { !$0.isWhitespace }), line[brace] == "{" else { return String(line) }
        sequence += 1
        let rest = line[line.index(after: brace)...]
        let empty = rest.first(where: { !$0.isWhitespace }) == "}"
        return "{\"src\":\(CanonicalLabels.quote(source)),\"seq\":\(sequence)\(empty ? "" : ",")" + rest
    }


    func close() {
        socket.close()
        context.shutdown()
    }
}

/// `--src` / `--no-seq`: the `src` and `seq` fields kpictl stamps on every event it sends.
struct SequenceOptions: ParsableArguments {
    @Option(help: "The src stamped on every event, with a seq counting from 1 (default kpictl-HOST-PID).")
    var src: String?

    @Flag(help: "Send events as they are, without src and seq.")
    var noSeq = false

    /// The src to stamp, or nil with --no-seq.
    var source: String? {
        if noSeq { return nil }
        return src ?? "kpictl-\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
    }
}
