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
        // A lone "." line would end the message for a program run without -i: double it.
        let text = message.components(separatedBy: "\r\n").map { $0 == "." ? ".." : $0 }.joined(separator: "\r\n")
        let argv = receiver.sendmail
        return await withCheckedContinuation { (cont: CheckedContinuation<DeliveryOutcome, Never>) in
            DispatchQueue.global().async {
                cont.resume(returning: Self.run(argv, input: Data(text.utf8)))
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
