import Foundation
import KPICore

/// Builds the email of a notification from its Alertmanager JSON: the one RFC 5322 message
/// builder, shared by the sendmail program path (``SendmailSender``) and direct SMTP
/// (``SMTPSender``).
///
/// The message has `Date`, `From`, `To`, `Subject`, `Message-ID` (`<idempotency key@from's
/// domain>`, so that a retried delivery carries the same id), `MIME-Version`, a UTF-8 plain
/// text body and an `X-Kpid-Group-Key` header; lines end with CRLF. Transport framing (SMTP
/// dot-stuffing) is the sender's business, not the builder's.
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
        // An annotation may span lines: every line end becomes CRLF.
        // (A Character "\r\n" is one grapheme: isNewline splits CRLF, LF and CR alike.)
        return lines.flatMap { $0.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) }
            .joined(separator: "\r\n") + "\r\n"
    }

    static func headerSafe(_ s: String) -> String {
        String(s.map { $0.isNewline ? " " : $0 })
    }
}
