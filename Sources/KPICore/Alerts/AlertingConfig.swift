/// Which transport a receiver uses.
public enum ReceiverKind: String, Sendable, Equatable, CaseIterable {
    /// HTTP(S) POST of the Alertmanager webhook payload (version 4).
    case webhook
    /// An RFC 5322 message handed to a sendmail-compatible program, or submitted directly over
    /// SMTP when the receiver has ``ReceiverConfig/smtp`` settings.
    case email
}

/// How a direct SMTP connection is secured (`smtp_tls`).
public enum SMTPSecurity: String, Sendable, Equatable, CaseIterable {
    /// A plain connection upgraded with `STARTTLS` before anything else is sent; a server that
    /// does not offer it is a permanent failure (default; port 587).
    case starttls
    /// TLS from the first byte, "implicit TLS" (port 465).
    case tls
    /// No TLS at all, for a relay on the local host (port 25). AUTH is refused in this mode.
    case none

    /// The submission port of the mode: 587, 465 or 25.
    public var defaultPort: Int {
        switch self {
        case .starttls: return 587
        case .tls: return 465
        case .none: return 25
        }
    }
}

/// Direct SMTP submission of an email receiver (`smtp = "host:port"` and the `smtp_*` keys),
/// instead of the sendmail program.
public struct SMTPSettings: Sendable, Equatable {
    public var host: String
    public var port: Int
    public var security: SMTPSecurity
    /// AUTH user name; AUTH (PLAIN, else LOGIN) is used only when it is set.
    public var username: String?
    /// File holding the AUTH password (one line; a trailing newline is dropped). The loader
    /// refuses a file that group or others can read.
    public var passwordFile: String?
    /// PEM file of the certificate authorities to trust instead of the system's (a private CA).
    public var caFile: String?

    public init(host: String, port: Int, security: SMTPSecurity = .starttls, username: String? = nil,
                passwordFile: String? = nil, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.passwordFile = passwordFile
        self.caFile = caFile
    }
}

/// One `[[receivers]]` entry: where notifications go and how.
public struct ReceiverConfig: Sendable, Equatable {
    public var name: String
    public var kind: ReceiverKind
    /// Webhook URL (`http://` or `https://`).
    public var url: String?
    /// File holding the HMAC-SHA256 secret; when set, the body's signature is sent in
    /// `X-Kpid-Signature: sha256=<hex>`.
    public var hmacSecretFile: String?
    /// Webhook request timeout, or the whole SMTP dialogue's (default 10 s); a timeout is retried.
    public var timeoutMillis: Int64 = 10_000
    /// Whether resolved notifications are sent (Alertmanager's defaults: webhook true, email false).
    public var sendResolved: Bool
    /// Email recipients.
    public var to: [String] = []
    /// Email sender address.
    public var from: String = "kpid@localhost"
    /// The sendmail-compatible program and its arguments (default `/usr/sbin/sendmail -t -i`).
    public var sendmail: [String] = ["/usr/sbin/sendmail", "-t", "-i"]
    /// Direct SMTP instead of ``sendmail``; nil (default) pipes to the sendmail program.
    public var smtp: SMTPSettings?

    public init(name: String, kind: ReceiverKind) {
        self.name = name
        self.kind = kind
        self.sendResolved = kind == .webhook
    }
}

/// `[alerting]`: routing, grouping, inhibition and outbox settings shared by every rule.
///
/// Defaults are Alertmanager's: `group_wait` 30 s, `group_interval` 5 min, `repeat_interval` 4 h.
public struct AlertingConfig: Sendable, Equatable {
    /// Labels that split alerts into notification groups (default `["alertname"]`).
    public var groupBy: [String] = ["alertname"]
    public var groupWaitMillis: Int64 = 30_000
    public var groupIntervalMillis: Int64 = 300_000
    public var repeatIntervalMillis: Int64 = 14_400_000
    /// Severity whose firing alerts mute lower severities (default `critical`); nil disables inhibition.
    public var inhibitSourceSeverity: String? = "critical"
    /// Labels that must be equal for a source to mute a target. Empty (default): every label of
    /// the source except `alertname` and `severity` must be equal in the target.
    public var inhibitEqual: [String] = []
    /// How long a notification is retried before it expires (default 24 h).
    public var outboxExpiryMillis: Int64 = 86_400_000
    /// First retry delay (default 1 s); doubled per attempt up to ``retryMaxMillis``, with jitter.
    public var retryInitialMillis: Int64 = 1_000
    public var retryMaxMillis: Int64 = 300_000
    /// How long a resolved alert is kept (and can still be notified) before it is forgotten (default 15 min).
    public var resolvedRetentionMillis: Int64 = 900_000
    /// `externalURL` of the webhook payload.
    public var externalURL: String = "http://localhost/kpid"
    public init() {}
}
