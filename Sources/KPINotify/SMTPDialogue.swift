import Foundation
import KPICore

/// One SMTP reply: its three-digit code and the text of each of its lines (a multi-line reply,
/// `250-…` then `250 …`, has several).
public struct SMTPReply: Sendable, Equatable {
    public var code: Int
    public var lines: [String]
    public init(code: Int, lines: [String]) {
        self.code = code
        self.lines = lines
    }

    /// `code text` of the first line, for logs and `last_error`.
    public var summary: String { "\(code) \(lines.first ?? "")".trimmingCharacters(in: .whitespaces) }

    /// Assembles replies from the lines of a connection (CRLF already removed). Holds at most
    /// one reply's lines.
    public struct Assembler: Sendable {
        var code: Int?
        var lines: [String] = []
        public init() {}

        /// Feeds one line; returns a reply when the line ends one (`NNN text` or `NNN`), nil for
        /// a continuation line (`NNN-text`). Throws on a line that is not a reply line, or whose
        /// code differs from the reply's first line.
        public mutating func feed(_ line: [UInt8]) throws(SMTPProtocolError) -> SMTPReply? {
            guard line.count >= 3, line[0...2].allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  line.count == 3 || line[3] == 0x20 || line[3] == 0x2D else {
                throw SMTPProtocolError(message: "not an SMTP reply line: \(Self.printable(line))")
            }
            let c = Int(line[0] - 0x30) * 100 + Int(line[1] - 0x30) * 10 + Int(line[2] - 0x30)
            if let code, code != c {
                throw SMTPProtocolError(message: "reply line \(c) inside a \(code) reply")
            }
            code = c
            lines.append(line.count > 4 ? String(decoding: line[4...], as: UTF8.self) : "")
            if line.count > 3 && line[3] == 0x2D { return nil }
            defer { code = nil; lines = [] }
            return SMTPReply(code: c, lines: lines)
        }

        static func printable(_ line: [UInt8]) -> String {
            String(decoding: line.prefix(80).map { $0 >= 0x20 && $0 < 0x7F ? $0 : 0x3F }, as: UTF8.self)
        }
    }
}

/// A server that does not speak SMTP as expected.
public struct SMTPProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// The client side of one SMTP submission (RFC 5321, STARTTLS RFC 3207, AUTH RFC 4954), as a
/// pure state machine: each server reply in, the next thing to do out. No I/O; ``SMTPSender``
/// drives it over a connection.
///
/// The dialogue: greeting → `EHLO` → `STARTTLS` and `EHLO` again (``SMTPSecurity/starttls``) →
/// `AUTH PLAIN` (or `AUTH LOGIN` when the server offers only that) when there are credentials →
/// `MAIL FROM` → one `RCPT TO` per recipient → `DATA` → the dot-stuffed message → `QUIT`.
///
/// Outcomes follow the webhook sender: a 5xx reply is a permanent failure, a 4xx reply is
/// retried. A server that lacks a required capability (STARTTLS, an AUTH mechanism we speak)
/// fails permanently: retrying cannot change it. A reply outside the step's expected codes is
/// retried. Every recipient must be accepted before `DATA`, so that a retry never sends a
/// second copy to some of them.
public struct SMTPDialogue: Sendable {
    /// What the connection must do next.
    public enum Action: Sendable, Equatable {
        /// Write this command followed by CRLF.
        case send(String)
        /// Start TLS on the connection (the server said 220 to `STARTTLS`), then send the command.
        case startTLS(thenSend: String)
        /// Write ``SMTPDialogue/message`` (already dot-stuffed and terminated).
        case sendMessage
        /// The submission ended: send `QUIT` (best effort) and close.
        case finish(DeliveryOutcome)
    }

    enum State: Sendable, Equatable {
        case greeting, ehlo, helo, startTLS, authPlain, authLoginUser, authLoginPassword, authLoginDone, mailFrom
        case recipient(Int), data, message, finished
    }

    let helloName: String
    let security: SMTPSecurity
    let credentials: (username: String, password: String)?
    let sender: String
    let recipients: [String]
    /// The message as sent after `DATA`: CRLF line ends, dot-stuffed, ending with `.` CRLF.
    public let message: [UInt8]
    private(set) var state: State = .greeting
    private(set) var tlsActive: Bool
    /// The command whose reply is awaited (for error texts).
    private var lastCommand = "the greeting"

    /// - Parameters:
    ///   - helloName: the name sent with `EHLO`.
    ///   - message: the RFC 5322 message, from ``EmailMessage/render(payload:receiver:idempotencyKey:date:)``.
    ///   - sender, recipients: envelope addresses (`Name <a@b>` is reduced to `a@b`).
    public init(helloName: String, security: SMTPSecurity, credentials: (username: String, password: String)?,
                sender: String, recipients: [String], message: String) {
        self.helloName = helloName
        self.security = security
        self.credentials = credentials
        self.sender = Self.address(sender)
        self.recipients = recipients.map(Self.address)
        self.message = Self.dotStuffed(message)
        tlsActive = security == .tls
    }

    /// The next action after `reply`.
    public mutating func receive(_ reply: SMTPReply) -> Action {
        let code = reply.code
        if state == .finished { return .finish(.retry("reply after the end of the dialogue: \(reply.summary)")) }
        // EHLO refused by an old server: HELO, when nothing needs the extensions.
        if state == .ehlo, code == 500 || code == 502, !tlsActive, security == .none, credentials == nil {
            return send("HELO \(helloName)", .helo)
        }
        if code >= 500 { return end(.permanent("SMTP \(reply.summary) (after \(lastCommand))")) }
        if code >= 400 { return end(.retry("SMTP \(reply.summary) (after \(lastCommand))")) }
        switch state {
        case .greeting:
            guard code == 220 else { return unexpected(reply) }
            return send("EHLO \(helloName)", .ehlo)
        case .helo:
            guard code == 250 else { return unexpected(reply) }
            return mailFrom()
        case .ehlo:
            guard code == 250 else { return unexpected(reply) }
            let extensions = reply.lines.dropFirst().map { $0.uppercased() }
            if security == .starttls && !tlsActive {
                guard extensions.contains(where: { $0 == "STARTTLS" || $0.hasPrefix("STARTTLS ") }) else {
                    return end(.permanent("the server does not offer STARTTLS (smtp_tls = \"starttls\")"))
                }
                return send("STARTTLS", .startTLS)
            }
            guard let credentials else { return mailFrom() }
            let mechanisms = extensions.filter { $0.hasPrefix("AUTH ") || $0.hasPrefix("AUTH=") }
                .flatMap { $0.dropFirst(5).split(separator: " ").map(String.init) }
            if mechanisms.contains("PLAIN") {
                let token = Data(([0] + Array(credentials.username.utf8) + [0] + Array(credentials.password.utf8)))
                lastCommand = "AUTH PLAIN"
                state = .authPlain
                return .send("AUTH PLAIN \(token.base64EncodedString())")
            }
            if mechanisms.contains("LOGIN") { return send("AUTH LOGIN", .authLoginUser) }
            return end(.permanent(mechanisms.isEmpty ? "the server offers no AUTH (smtp_username is set)"
                                  : "the server offers AUTH \(mechanisms.joined(separator: " ")), not PLAIN or LOGIN"))
        case .startTLS:
            guard code == 220 else { return unexpected(reply) }
            tlsActive = true
            lastCommand = "EHLO"
            state = .ehlo
            return .startTLS(thenSend: "EHLO \(helloName)")
        case .authPlain, .authLoginDone:
            guard code == 235 else { return unexpected(reply) }
            return mailFrom()
        case .authLoginUser:
            guard code == 334, let c = credentials else { return unexpected(reply) }
            lastCommand = "AUTH LOGIN (user name)"
            state = .authLoginPassword
            return .send(Data(c.username.utf8).base64EncodedString())
        case .authLoginPassword:
            guard code == 334, let c = credentials else { return unexpected(reply) }
            lastCommand = "AUTH LOGIN (password)"
            state = .authLoginDone
            return .send(Data(c.password.utf8).base64EncodedString())
        case .mailFrom:
            guard code == 250 else { return unexpected(reply) }
            return recipient(0)
        case .recipient(let i):
            guard code == 250 || code == 251 else { return unexpected(reply) }
            if i + 1 < recipients.count { return recipient(i + 1) }
            return send("DATA", .data)
        case .data:
            guard code == 354 else { return unexpected(reply) }
            lastCommand = "the message"
            state = .message
            return .sendMessage
        case .message:
            guard code == 250 else { return unexpected(reply) }
            return end(.delivered)
        case .finished:
            return .finish(.retry("unexpected reply \(reply.summary)"))
        }
    }

    private mutating func send(_ command: String, _ next: State) -> Action {
        lastCommand = String(command.prefix(while: { $0 != " " }))
        if command.hasPrefix("MAIL") || command.hasPrefix("RCPT") { lastCommand = command }
        state = next
        return .send(command)
    }

    private mutating func mailFrom() -> Action { send("MAIL FROM:<\(sender)>", .mailFrom) }

    private mutating func recipient(_ i: Int) -> Action {
        guard i < recipients.count else { return end(.permanent("no recipients")) }
        return send("RCPT TO:<\(recipients[i])>", .recipient(i))
    }

    private mutating func end(_ outcome: DeliveryOutcome) -> Action {
        state = .finished
        return .finish(outcome)
    }

    private mutating func unexpected(_ reply: SMTPReply) -> Action {
        end(.retry("unexpected SMTP reply \(reply.summary) (after \(lastCommand))"))
    }

    /// `a@b` from `Name <a@b>`; other text unchanged.
    static func address(_ s: String) -> String {
        if let open = s.lastIndex(of: "<"), let close = s.lastIndex(of: ">"), open < close {
            return String(s[s.index(after: open)..<close])
        }
        return s.trimmingCharacters(in: .whitespaces)
    }

    /// The message as the `DATA` phase sends it (RFC 5321 §4.5.2): every line end CRLF (a bare
    /// CR or LF becomes CRLF), a line that starts with `.` gets a second `.`, and the end mark
    /// `.` CRLF follows.
    public static func dotStuffed(_ message: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.utf8.count + 16)
        var atLineStart = true
        var previousCR = false
        for b in message.utf8 {
            if b == 0x0A && previousCR { previousCR = false; continue } // the LF of a CRLF already written
            previousCR = b == 0x0D
            if b == 0x0D || b == 0x0A {
                out.append(0x0D)
                out.append(0x0A)
                atLineStart = true
                continue
            }
            if atLineStart && b == 0x2E { out.append(0x2E) }
            atLineStart = false
            out.append(b)
        }
        if !atLineStart { out.append(contentsOf: [0x0D, 0x0A]) }
        out.append(contentsOf: [0x2E, 0x0D, 0x0A])
        return out
    }
}
