import Foundation
import KPIConfig
import KPICore
import XCTest

final class SMTPConfigTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpid-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func file(_ name: String, _ text: String, mode: Int) throws -> String {
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    /// Line 1 is `[[receivers]]`: a key on line N of `keys` is on line N + 4 of the document.
    func config(_ keys: String) -> String {
        """
        [[receivers]]
        name = "mail"
        kind = "email"
        to = ["oncall@example.com"]
        \(keys)

        [[sources]]
        name = "s"
        kind = "pull"
        bind = ["tcp://127.0.0.1:5557"]

        [[metrics]]
        name = "errors"
        events = ["req"]
        aggregate = "count"
        windows = ["minute"]
        """
    }

    func errors(_ keys: String) -> [ConfigError] { ConfigLoader.diagnose(config(keys)).errors }

    func testSmtpSettingsAreReadWithTheirDefaults() throws {
        let password = try file("pw", "s3cret\n", mode: 0o600)
        let ca = try file("ca.pem", "-----BEGIN CERTIFICATE-----\n", mode: 0o644)
        let c = try ConfigLoader.parse(config("""
        smtp = "smtp.example.com:2525"
        smtp_username = "kpid"
        smtp_password_file = "\(password)"
        smtp_ca_file = "\(ca)"
        timeout = "3s"
        """))
        XCTAssertEqual(c.receivers[0].smtp, SMTPSettings(host: "smtp.example.com", port: 2525, security: .starttls,
                                                         username: "kpid", passwordFile: password, caFile: ca))
        XCTAssertEqual(c.receivers[0].timeoutMillis, 3_000)
        let implicit = try ConfigLoader.parse(config("smtp = \"smtp.example.com\"\nsmtp_tls = \"tls\""))
        XCTAssertEqual(implicit.receivers[0].smtp?.port, 465, "the port of the TLS mode when none is given")
        let plain = try ConfigLoader.parse(config("smtp = \"[::1]:25\"\nsmtp_tls = \"none\""))
        XCTAssertEqual(plain.receivers[0].smtp, SMTPSettings(host: "::1", port: 25, security: .none))
        XCTAssertNil(try ConfigLoader.parse(config("")).receivers[0].smtp, "sendmail stays the default")
    }

    func testAPasswordFileReadableByOthersIsRefusedWithKeyAndLine() throws {
        let password = try file("pw", "s3cret\n", mode: 0o644)
        let e = errors("smtp = \"smtp.example.com:587\"\nsmtp_username = \"kpid\"\nsmtp_password_file = \"\(password)\"")
        XCTAssertEqual(e.map(\.key), ["receivers[0].smtp_password_file"])
        XCTAssertEqual(e.first?.line, 7)
        XCTAssertTrue(e.first?.message.contains("mode 0644") ?? false, e.first?.message ?? "")
        XCTAssertEqual(e.first?.hint, "chmod 600 \(password)")
    }

    func testSmtpMistakesAreErrorsWithKeyAndLine() throws {
        let password = try file("pw", "s3cret", mode: 0o600)
        XCTAssertEqual(errors("smtp = \"smtp.example.com:587\"\nsmtp_tls = \"ssl\"").map { "\($0.key)@\($0.line ?? 0)" },
                       ["receivers[0].smtp_tls@6"])
        XCTAssertEqual(errors("smtp = \"smtp.example.com:port\"").map(\.key), ["receivers[0].smtp"])
        XCTAssertEqual(errors("smtp_tls = \"tls\"").map { "\($0.key)@\($0.line ?? 0)" }, ["receivers[0].smtp_tls@5"])
        XCTAssertEqual(errors("timeout = \"5s\"").map(\.key), ["receivers[0].timeout"])
        XCTAssertEqual(errors("sendmail = \"/usr/bin/msmtp -t\"\nsmtp = \"smtp.example.com:587\"").map(\.key),
                       ["receivers[0].sendmail"])
        XCTAssertEqual(errors("smtp = \"smtp.example.com:587\"\nsmtp_username = \"kpid\"").map(\.key),
                       ["receivers[0].smtp_username"])
        XCTAssertEqual(errors("smtp = \"smtp.example.com:587\"\nsmtp_password_file = \"\(password)\"").map(\.key),
                       ["receivers[0].smtp_password_file"])
        let clear = errors("smtp = \"localhost:25\"\nsmtp_tls = \"none\"\nsmtp_username = \"kpid\"\nsmtp_password_file = \"\(password)\"")
        XCTAssertEqual(clear.map { "\($0.key)@\($0.line ?? 0)" }, ["receivers[0].smtp_username@7"])
        XCTAssertTrue(clear.first?.message.contains("clear text") ?? false)
        XCTAssertEqual(errors("smtp = \"smtp.example.com:587\"\nsmtp_ca_file = \"/nonexistent/ca.pem\"").map(\.key),
                       ["receivers[0].smtp_ca_file"])
        let hook = config("").replacingOccurrences(of: "kind = \"email\"\nto = [\"oncall@example.com\"]",
                                                    with: "kind = \"webhook\"\nurl = \"http://127.0.0.1:9/\"\nsmtp = \"smtp.example.com:587\"")
        XCTAssertEqual(ConfigLoader.diagnose(hook).errors.map(\.key), ["receivers[0].smtp"])
    }
}
