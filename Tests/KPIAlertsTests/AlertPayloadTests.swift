import Foundation
import KPICore
import KPINotify
import XCTest

final class AlertPayloadTests: XCTestCase {
    func notification() -> AlertNotification {
        var firing = alert("worker_5xx_rate", ["tenant": "t1"], severity: "critical", startsAt: 1_700_000_000_000)
        firing.annotations = ["value": "0.8%", "summary": "t1 5xx at 0.8%"]
        let resolved = alert("worker_5xx_rate", ["tenant": "t2"], severity: "critical", firing: false, startsAt: 1_700_000_000_000)
        return AlertNotification(idempotencyKey: "abc", receiver: "hook", groupKey: "{}:{alertname=\"worker_5xx_rate\"}",
                                 status: "firing", groupLabels: ["alertname": "worker_5xx_rate"],
                                 commonLabels: ["alertname": "worker_5xx_rate", "severity": "critical"], commonAnnotations: [:],
                                 alerts: [firing, resolved], createdAt: 0)
    }

    func testTheWebhookBodyHasTheAlertmanagerV4FieldSet() throws {
        let json = AlertmanagerPayload.json(notification(), externalURL: "https://kpid.example.com")
        let p = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        XCTAssertEqual(Set(p.keys), ["version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
                                     "commonLabels", "commonAnnotations", "externalURL", "alerts"])
        XCTAssertEqual(p["version"] as? String, "4")
        XCTAssertEqual(p["truncatedAlerts"] as? Int, 0)
        let alerts = try XCTUnwrap(p["alerts"] as? [[String: Any]])
        XCTAssertEqual(Set(alerts[0].keys), ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"])
        XCTAssertEqual(alerts[0]["endsAt"] as? String, "0001-01-01T00:00:00Z")
        XCTAssertEqual(alerts[0]["startsAt"] as? String, "2023-11-14T22:13:20Z")
        XCTAssertEqual(alerts[1]["status"] as? String, "resolved")
        XCTAssertEqual(alerts[1]["endsAt"] as? String, "2023-11-14T22:14:20Z")
        XCTAssertEqual((alerts[0]["fingerprint"] as? String)?.count, 16)
    }

    func testTheEmailIsAnRFC5322MessageWithAClearSubject() throws {
        var r = ReceiverConfig(name: "mail", kind: .email)
        r.to = ["a@example.com", "b@example.com"]
        r.from = "kpid@example.com"
        let json = AlertmanagerPayload.json(notification(), externalURL: "http://x")
        let m = try EmailMessage.render(payload: json, receiver: r, idempotencyKey: "abc", date: Date(timeIntervalSince1970: 0))
        let (head, body) = try XCTUnwrap(m.range(of: "\r\n\r\n").map { (String(m[..<$0.lowerBound]), String(m[$0.upperBound...])) })
        let headers = head.components(separatedBy: "\r\n")
        XCTAssertTrue(headers.contains("Subject: [CRITICAL] worker_5xx_rate firing: tenant=t1 0.8% (+1 more)"))
        XCTAssertTrue(headers.contains("Date: Thu, 01 Jan 1970 00:00:00 +0000"))
        XCTAssertTrue(headers.contains("From: kpid@example.com"))
        XCTAssertTrue(headers.contains("To: a@example.com, b@example.com"))
        XCTAssertTrue(headers.contains("Message-ID: <abc@example.com>"))
        XCTAssertTrue(body.contains("FIRING: worker_5xx_rate"))
        XCTAssertTrue(body.contains("summary: t1 5xx at 0.8%"))
        XCTAssertFalse(m.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "every line ends in CRLF")
    }

    func testWebhookSignatureIsHexHMACSHA256() {
        // RFC 4231 test case 2.
        let sig = WebhookSender.signature(Array("what do ya want for nothing?".utf8), key: .init(data: Array("Jefe".utf8)))
        XCTAssertEqual(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
