/// CURVE security of one source: the server key pair and the client keys admitted by the ZAP
/// handler, each naming a publisher.
///
/// Keys are 40-character Z85 strings as read from their files by the config loader, which has
/// already checked their form and the secret key file's mode (0600). The value holds the secret
/// key in memory for the life of the daemon; ``description`` never shows it.
public struct CurveSourceConfig: Sendable, Equatable, CustomStringConvertible {
    /// The server's secret key (Z85).
    public var secretKey: String
    /// Where the secret key was read from (for messages).
    public var secretKeyFile: String
    /// The server's public key (Z85) when `curve_public_key` is configured; kpid checks that it
    /// belongs to the secret key.
    public var publicKey: String?
    /// Where the public key was read from.
    public var publicKeyFile: String?
    /// The directory of client keys (`NAME.key` files).
    public var clientsDirectory: String
    /// The admitted clients, sorted by publisher name.
    public var clients: [CurveClientKey]

    public init(secretKey: String, secretKeyFile: String, publicKey: String? = nil, publicKeyFile: String? = nil,
                clientsDirectory: String, clients: [CurveClientKey]) {
        self.secretKey = secretKey
        self.secretKeyFile = secretKeyFile
        self.publicKey = publicKey
        self.publicKeyFile = publicKeyFile
        self.clientsDirectory = clientsDirectory
        self.clients = clients
    }

    /// Names the files, never the secret key.
    public var description: String {
        "CURVE(secret key \(secretKeyFile), \(clients.count) client(s) from \(clientsDirectory))"
    }
}

/// One admitted CURVE client: the publisher identity and its public key.
public struct CurveClientKey: Sendable, Equatable {
    /// The publisher name (the key file's name without `.key`); the ZAP user id of its messages.
    public var publisher: String
    /// The client's public key (Z85, 40 characters).
    public var publicKey: String
    /// The file it was read from.
    public var file: String

    public init(publisher: String, publicKey: String, file: String) {
        self.publisher = publisher
        self.publicKey = publicKey
        self.file = file
    }
}

/// Z85 text checks (ZeroMQ RFC 32) without decoding: the config loader uses them to reject a
/// malformed key file by name before any socket exists.
public enum Z85Text {
    /// The 85 characters of the Z85 alphabet.
    public static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)
    private static let valid: [Bool] = {
        var t = Array(repeating: false, count: 256)
        for c in alphabet { t[Int(c)] = true }
        return t
    }()

    /// True when `text` is a 40-character Z85 CURVE key.
    public static func isCurveKey(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.count == 40 && bytes.allSatisfy { valid[Int($0)] }
    }
}
