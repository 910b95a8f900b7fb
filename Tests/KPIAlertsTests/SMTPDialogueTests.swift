import Foundation
import KPICore
import KPINotify
import XCTest

final class SMTPDialogueTests: XCTestCase {
    func reply(_ code: Int, _ lines: String...) -> SMTPReply { SMTPReply(code: code, lines: lines.isEmpty ? [""] : lines) }

    func dialogue(_ security: SMTPSecurity = .starttls, user: String? = "kpid", to: [String] = ["oncall@example.com"],
                  message: String = "Subject: x\r\n\r\nbody\r\n") -> SMTPDialogue {
        SMTPDialogue(helloName: "kpid.test", security: security, credentials: user.map { (username: $0, password: "s3cret") },
                     sender: "kpid <kpid@example.com>", recipients: to, message: message)
    }

    func testAStartTLSSubmissionWithAuthPlainGoesThroughEveryStepInOrder() {
        var d = dialogue()
        XCTAssertEqual(d.receive(reply(220, "mx ESMTP")), .send("EHLO kpid.test"))
        XCTAssertEqual(d.receive(reply(250, "mx", "PIPELINING", "STARTTLS", "8BITMIME")), .send("STARTTLS"))
        XCTAssertEqual(d.receive(reply(220, "Ready to start TLS")), .startTLS(thenSend: "EHLO kpid.test"))
        let plain = Data("\0kpid\0s3cret".utf8).base64EncodedString()
        XCTAssertEqual(d.receive(reply(250, "mx", "AUTH LOGIN PLAIN", "8BITMIME")), .send("AUTH PLAIN \(plain)"))
        XCTAssertEqual(d.receive(reply(235, "2.7.0 Authentication successful")), .send("MAIL FROM:<kpid@example.com>"))
        XCTAssertEqual(d.receive(reply(250, "OK")), .send("RCPT TO:<oncall@example.com>"))
        XCTAssertEqual(d.receive(reply(250, "OK")), .send("DATA"))
        XCTAssertEqual(d.receive(reply(354, "End data with <CR><LF>.<CR><LF>")), .sendMessage)
        XCTAssertEqual(d.receive(reply(250, "OK queued")), .finish(.delivered))
    }

    func testAuthLoginIsUsedWhenTheServerOffersOnlyLogin() {
        var d = dialogue(.tls)
        XCTAssertEqual(d.receive(reply(220)), .send("EHLO kpid.test"))
        XCTAssertEqual(d.receive(reply(250, "mx", "AUTH LOGIN")), .send("AUTH LOGIN"))
        XCTAssertEqual(d.receive(reply(334, "VXNlcm5hbWU6")), .send(Data("kpid".utf8).base64EncodedString()))
        XCTAssertEqual(d.receive(reply(334, "UGFzc3dvcmQ6")), .send(Data("s3cret".utf8).base64EncodedString()))
        XCTAssertEqual(d.receive(reply(235)), .send("MAIL FROM:<kpid@example.com>"))
    }

    func testAWrongPasswordIsAPermanentFailureAndA4xxIsRetried() {
        var d = dialogue(.tls)
        _ = d.receive(reply(220))
        _ = d.receive(reply(250, "mx", "AUTH PLAIN"))
        guard case .finish(.permanent(let why)) = d.receive(reply(535, "5.7.8 Authentication credentials invalid")) else {
            return XCTFail("535 must be permanent")
        }
        XCTAssertTrue(why.contains("535") && why.contains("AUTH PLAIN"), why)

        var busy = dialogue(.none, user: nil)
        XCTAssertEqual(busy.receive(reply(421, "4.3.2 Service not available")),
                       .finish(.retry("SMTP 421 4.3.2 Service not available (after the greeting)")))
        var greylisted = dialogue(.none, user: nil)
        _ = greylisted.receive(reply(220))
        _ = greylisted.receive(reply(250, "mx"))
        XCTAssertEqual(greylisted.receive(reply(451, "4.7.1 greylisted")),
                       .finish(.retry("SMTP 451 4.7.1 greylisted (after MAIL FROM:<kpid@example.com>)")))
    }

    func testAServerWithoutStartTLSFailsPermanentlyInsteadOfSendingInClear() {
        var d = dialogue()
        _ = d.receive(reply(220))
        guard case .finish(.permanent(let why)) = d.receive(reply(250, "mx", "AUTH PLAIN LOGIN")) else {
            return XCTFail("no STARTTLS must not fall back to clear text")
        }
        XCTAssertTrue(why.contains("STARTTLS"))
    }

    func testAuthIsNotAttemptedWhenTheServerOffersNoMechanismWeSpeak() {
        var d = dialogue(.tls)
        _ = d.receive(reply(220))
        XCTAssertEqual(d.receive(reply(250, "mx", "AUTH CRAM-MD5 XOAUTH2")),
                       .finish(.permanent("the server offers AUTH CRAM-MD5 XOAUTH2, not PLAIN or LOGIN")))
    }

    func testEveryRecipientIsAcceptedBeforeDataAndARejectedOneStopsTheSubmission() {
        var d = dialogue(.none, user: nil, to: ["a@example.com", "b@example.com"])
        _ = d.receive(reply(220))
        XCTAssertEqual(d.receive(reply(250, "mx")), .send("MAIL FROM:<kpid@example.com>"))
        XCTAssertEqual(d.receive(reply(250)), .send("RCPT TO:<a@example.com>"))
        XCTAssertEqual(d.receive(reply(251, "will forward")), .send("RCPT TO:<b@example.com>"))
        guard case .finish(.permanent(let why)) = d.receive(reply(550, "5.1.1 no such user")) else {
            return XCTFail("a rejected recipient is permanent")
        }
        XCTAssertTrue(why.contains("RCPT TO:<b@example.com>"), why)
    }

    func testAnUnexpectedReplyIsRetriedAndEhloFallsBackToHeloOnlyWithoutTLSOrAuth() {
        var d = dialogue(.none, user: nil)
        _ = d.receive(reply(220))
        XCTAssertEqual(d.receive(reply(502, "EHLO not implemented")), .send("HELO kpid.test"))
        XCTAssertEqual(d.receive(reply(250)), .send("MAIL FROM:<kpid@example.com>"))
        var odd = dialogue(.none, user: nil)
        guard case .finish(.retry) = odd.receive(reply(250, "no greeting")) else { return XCTFail("unexpected code is retried") }
        var tls = dialogue()
        _ = tls.receive(reply(220))
        guard case .finish(.permanent) = tls.receive(reply(502)) else { return XCTFail("no HELO fallback with STARTTLS") }
    }

    func testTheMessageIsDotStuffedWithCRLFLineEndsAndTheEndMark() {
        let bytes = SMTPDialogue.dotStuffed("Subject: x\r\n\r\n.hidden\n..two\r.\r\nlast")
        XCTAssertEqual(String(decoding: bytes, as: UTF8.self),
                       "Subject: x\r\n\r\n..hidden\r\n...two\r\n..\r\nlast\r\n.\r\n")
        XCTAssertEqual(String(decoding: SMTPDialogue.dotStuffed("a\r\n"), as: UTF8.self), "a\r\n.\r\n")
    }

    func testTheReplyAssemblerJoinsMultilineRepliesAndRejectsGarbage() throws {
        var a = SMTPReply.Assembler()
        XCTAssertNil(try a.feed(Array("250-mx.example.com".utf8)))
        XCTAssertNil(try a.feed(Array("250-STARTTLS".utf8)))
        XCTAssertEqual(try a.feed(Array("250 AUTH PLAIN".utf8)),
                       SMTPReply(code: 250, lines: ["mx.example.com", "STARTTLS", "AUTH PLAIN"]))
        XCTAssertEqual(try a.feed(Array("354".utf8)), SMTPReply(code: 354, lines: [""]))
        XCTAssertThrowsError(try a.feed(Array("HTTP/1.1 400 Bad Request".utf8)))
        var mixed = SMTPReply.Assembler()
        XCTAssertNil(try mixed.feed(Array("250-a".utf8)))
        XCTAssertThrowsError(try mixed.feed(Array("220 b".utf8)))
    }

    func testTheSharedBuilderGivesTheHeadersAndTheIdempotencyKeyAsMessageID() throws {
        var r = ReceiverConfig(name: "mail", kind: .email)
        r.to = ["oncall@example.com", "ops@example.com"]
        r.from = "kpid@example.com"
        let payload = """
        {"version":"4","status":"firing","groupKey":"{}:{alertname=\\"e\\"}","commonLabels":{"alertname":"e","severity":"critical"},
         "alerts":[{"status":"firing","labels":{"alertname":"e","severity":"critical","tenant":"t1"},
                    "annotations":{"summary":"line one\\n.\\nline three","value":"0.8%"},"startsAt":"2026-11-23T12:00:00Z"}]}
        """
        let m = try EmailMessage.render(payload: payload, receiver: r, idempotencyKey: "abc123", date: Date(timeIntervalSince1970: 0))
        XCTAssertTrue(m.hasPrefix("Date: Thu, 01 Jan 1970 00:00:00 +0000\r\nFrom: kpid@example.com\r\nTo: oncall@example.com, ops@example.com\r\n"))
        XCTAssertTrue(m.contains("\r\nSubject: [CRITICAL] e firing: tenant=t1 0.8%\r\n"))
        XCTAssertTrue(m.contains("\r\nMessage-ID: <abc123@example.com>\r\n"))
        XCTAssertTrue(m.contains("\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"))
        // The multi-line annotation becomes CRLF lines; the lone "." is left for the transport.
        XCTAssertTrue(m.contains("  summary: line one\r\n.\r\nline three\r\n"), m)
        XCTAssertFalse(m.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        XCTAssertTrue(String(decoding: SMTPDialogue.dotStuffed(m), as: UTF8.self).contains("line one\r\n..\r\nline three"))
    }
}
