import Foundation
import KPICore
import TOMLKit

/// `smtp = "host:port"` and the `smtp_*` keys of an email receiver: direct SMTP submission with
/// STARTTLS (or implicit TLS) and AUTH, instead of the sendmail program.
extension ConfigCompiler {
    /// The receiver's SMTP settings: absent when it has no `smtp` key (and no `smtp_*` key),
    /// invalid after reporting every mistake.
    mutating func smtp(_ t: TOMLTable, prefix: String) -> Read<SMTPSettings> {
        let given = ConfigKeys.smtpReceiver.filter { t[$0] != nil }
        guard t["smtp"] != nil else {
            for key in given {
                fail("\(prefix).\(key)", "\(key) applies only to direct SMTP", hint: "add smtp = \"smtp.example.com:587\"")
            }
            if t["timeout"] != nil {
                fail("\(prefix).timeout", "timeout applies to direct SMTP, not to the sendmail program",
                     hint: "add smtp = \"smtp.example.com:587\", or remove timeout")
            }
            return given.isEmpty && t["timeout"] == nil ? .absent : .invalid
        }
        var ok = true
        if t["sendmail"] != nil {
            fail("\(prefix).sendmail", "an email receiver uses either sendmail or smtp, not both"); ok = false
        }
        var security = SMTPSecurity.starttls
        switch oneOf(t, "smtp_tls", prefix: prefix, what: "smtp_tls") as Read<SMTPSecurity> {
        case .value(let m): security = m
        case .invalid: ok = false
        case .absent: break
        }
        var endpoint: (host: String, port: Int)?
        switch string(t, "smtp", prefix: prefix, nonEmpty: true) {
        case .value(let s):
            if !s.contains(":"), !s.contains(" ") {
                endpoint = (s, security.defaultPort)
            } else if let hp = Self.hostPort(s), hp.1 > 0 {
                endpoint = (hp.0, hp.1)
            } else {
                fail("\(prefix).smtp", "expected \"host:port\", found \(quoted(s))", hint: "e.g. smtp = \"smtp.example.com:587\"")
                ok = false
            }
        case .invalid, .absent: ok = false
        }
        let username = string(t, "smtp_username", prefix: prefix, nonEmpty: true)
        if username.isInvalid { ok = false }
        var passwordFile: String?
        switch string(t, "smtp_password_file", prefix: prefix, nonEmpty: true) {
        case .value(let f):
            let path = resolve(f)
            if isPrivateFile(path, key: "\(prefix).smtp_password_file", what: "SMTP password",
                             missingHint: "write the password in it and chmod 600 it") {
                passwordFile = path
            } else {
                ok = false
            }
        case .invalid: ok = false
        case .absent: break
        }
        if case .value = username, t["smtp_password_file"] == nil {
            fail("\(prefix).smtp_username", "smtp_username needs smtp_password_file",
                 hint: "smtp_password_file = \"/etc/kpid/smtp.password\" (mode 0600)")
            ok = false
        }
        if case .absent = username, t["smtp_password_file"] != nil {
            fail("\(prefix).smtp_password_file", "smtp_password_file needs smtp_username"); ok = false
        }
        if security == .none, t["smtp_username"] != nil {
            fail("\(prefix).smtp_username", "AUTH without TLS would send the password in clear text",
                 hint: "smtp_tls = \"starttls\" or \"tls\""); ok = false
        }
        var caFile: String?
        switch string(t, "smtp_ca_file", prefix: prefix, nonEmpty: true) {
        case .value(let f):
            let path = resolve(f)
            if security == .none {
                fail("\(prefix).smtp_ca_file", "smtp_ca_file needs TLS", hint: "smtp_tls = \"starttls\" or \"tls\""); ok = false
            } else if !FileManager.default.isReadableFile(atPath: path) {
                fail("\(prefix).smtp_ca_file", "cannot read the CA file \(path)"); ok = false
            } else {
                caFile = path
            }
        case .invalid: ok = false
        case .absent: break
        }
        guard ok, let endpoint else { return .invalid }
        return .value(SMTPSettings(host: endpoint.host, port: endpoint.port, security: security, username: username.value,
                                   passwordFile: passwordFile, caFile: caFile))
    }
}
