import AsyncHTTPClient
import Crypto
import Foundation
import KPICore
import NIOCore
import NIOHTTP1

/// How one delivery attempt ended.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered
    /// Retried with backoff (5xx, timeout, connection refused, sendmail temporary failure).
    case retry(String)
    /// Not retried (4xx, a message the program rejects as malformed).
    case permanent(String)
}

/// Sends one notification payload (the Alertmanager v4 JSON) to one receiver.
public protocol NotificationSender: Sendable {
    func send(payload: String, idempotencyKey: String) async -> DeliveryOutcome
}

/// POSTs the payload with `Content-Type: application/json`, `Idempotency-Key`, and, with a
/// secret, `X-Kpid-Signature: sha256=<hex HMAC-SHA256 of the body>`. 2xx is delivered, 4xx
/// permanent (except 408 and 429, retried), anything else retried.
public struct WebhookSender: NotificationSender {
    public let url: String
    public let timeoutMillis: Int64
    /// The HMAC secret's bytes (SymmetricKey is not Sendable; it is rebuilt per request).
    let secret: [UInt8]?
    let client: HTTPClient

    /// Reads the secret file now; throws when it cannot be read.
    public init(receiver: ReceiverConfig, client: HTTPClient = .shared) throws {
        url = receiver.url ?? ""
        timeoutMillis = receiver.timeoutMillis
        self.client = client
        if let file = receiver.hmacSecretFile {
            var data = try Data(contentsOf: URL(fileURLWithPath: file))
            while let last = data.last, last == 0x0A || last == 0x0D { data.removeLast() }
            secret = Array(data)
        } else {
            secret = nil
        }
    }

    /// `sha256=<hex>` of `body` with `key`.
    public static func signature(_ body: [UInt8], key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: key)
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    public func send(payload: String, idempotencyKey: String) async -> DeliveryOutcome {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        let body = Array(payload.utf8)
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "kpid")
        request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
        if let secret { request.headers.add(name: "X-Kpid-Signature", value: Self.signature(body, key: SymmetricKey(data: secret))) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(timeoutMillis))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            let code = Int(response.status.code)
            switch code {
            case 200..<300: return .delivered
            case 408, 429: return .retry("HTTP \(code)")
            case 400..<500: return .permanent("HTTP \(code)")
            default: return .retry("HTTP \(code)")
            }
        } catch {
            return .retry("\(error)")
        }
    }
}

/// Pipes an RFC 5322 message to a sendmail-compatible program (`/usr/sbin/sendmail -t -i` by
/// default; msmtp, postfix and exim all accept it). Exit 0 is delivered; `EX_DATAERR` (65),
/// `EX_NOUSER` (67) and `EX_USAGE` (64) are permanent; other failures are retried.
public struct SendmailSender: NotificationSender {
    public let receiver: ReceiverConfig
    public init(receiver: ReceiverConfig) { self.receiver = receiver }

    public func send(payload: String, idempotencyKey: String) async -> DeliveryOutcome {
        let message: String
        do { message = try EmailMessage.render(payload: payload, receiver: receiver, idempotencyKey: idempotencyKey, date: Date()) } catch {
            return .permanent("cannot render the message: \(error)")
        }
        let argv = receiver.sendmail
        return await withCheckedContinuation { (cont: CheckedContinuation<DeliveryOutcome, Never>) in
            DispatchQueue.global().async {
                cont.resume(returning: Self.run(argv, input: Data(message.utf8)))
            }
        }
    }

    static func run(_ argv: [String], input: Data) -> DeliveryOutcome {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: argv[0])
        p.arguments = Array(argv.dropFirst())
        let stdin = Pipe(), stderr = Pipe()
        p.standardInput = stdin
        p.standardError = stderr
        p.standardOutput = FileHandle.nullDevice
        do { try p.run() } catch { return .retry("cannot start \(argv[0]): \(error)") }
        stdin.fileHandleForWriting.write(input)
        try? stdin.fileHandleForWriting.close()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let code = p.terminationStatus
        if code == 0 { return .delivered }
        let text = "\(argv[0]) exited \(code): \(String(decoding: err.prefix(300), as: UTF8.self))"
        return [64, 65, 67].contains(code) ? .permanent(text) : .retry(text)
    }
}

/// Builds the email of a notification from its Alertmanager JSON.
public enum EmailMessage {
    public struct RenderError: Error, CustomStringConvertible { public var description: String }

    /// The subject: `[CRITICAL] worker_5xx_rate firing: tenant=t1 0.8%`.
    public static func subject(_ p: [String: Any]) -> String {
        let alerts = p["alerts"] as? [[String: Any]] ?? []
        let common = p["commonLabels"] as? [String: String] ?? [:]
        let status = p["status"] as? String ?? "firing"
        let first = alerts.first
        let labels = first?["labels"] as? [String: String] ?? [:]
        let severity = (common["severity"] ?? labels["severity"] ?? "alert").uppercased()
        let name = common["alertname"] ?? labels["alertname"] ?? "alert"
        var s = "[\(severity)] \(name) \(status)"
        let shown = labels.keys.filter { $0 != "alertname" && $0 != "severity" }.sorted().map { "\($0)=\(labels[$0]!)" }
        if !shown.isEmpty { s += ": " + shown.joined(separator: " ") }
        if let v = (first?["annotations"] as? [String: String])?["value"] { s += " \(v)" }
        if alerts.count > 1 { s += " (+\(alerts.count - 1) more)" }
        return s
    }

    /// The whole RFC 5322 message with CRLF line ends.
    public static func render(payload: String, receiver: ReceiverConfig, idempotencyKey: String, date: Date) throws -> String {
        guard let p = try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any] else {
            throw RenderError(description: "payload is not a JSON object")
        }
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let domain = receiver.from.split(separator: "@").last.map(String.init) ?? "localhost"
        var lines = [
            "Date: \(f.string(from: date))",
            "From: \(receiver.from)",
            "To: \(receiver.to.joined(separator: ", "))",
            "Subject: \(headerSafe(subject(p)))",
            "Message-ID: <\(idempotencyKey)@\(domain)>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
            "X-Kpid-Group-Key: \(headerSafe(p["groupKey"] as? String ?? ""))",
            "",
        ]
        for a in p["alerts"] as? [[String: Any]] ?? [] {
            let labels = a["labels"] as? [String: String] ?? [:]
            let annotations = a["annotations"] as? [String: String] ?? [:]
            lines.append("\((a["status"] as? String ?? "").uppercased()): \(labels["alertname"] ?? "")")
            for k in labels.keys.sorted() { lines.append("  \(k) = \(labels[k]!)") }
            for k in annotations.keys.sorted() { lines.append("  \(k): \(annotations[k]!)") }
            lines.append("  starts at: \(a["startsAt"] as? String ?? "")")
            if a["status"] as? String == "resolved" { lines.append("  ends at: \(a["endsAt"] as? String ?? "")") }
            lines.append("")
        }
        // A lone "." line would end the message for some programs even with -i: dot-stuff it.
        return lines.map { $0 == "." ? ".." : $0 }.joined(separator: "\r\n") + "\r\n"
    }

    static func headerSafe(_ s: String) -> String {
        String(s.map { $0 == "\r" || $0 == "\n" ? " " : $0 })
    }
}
