import ArgumentParser
import Foundation
import ZeroMQ

/// `--curve-server-key FILE --curve-key NAME-or-path`: makes a sending socket a CURVE client.
struct CurveClientOptions: ParsableArguments {
    @Option(help: "The server's public key file (Z85), e.g. keys/server.key; enables CURVE.")
    var curveServerKey: String?

    @Option(help: "This publisher's key: a path to NAME.key_secret, or NAME (reads ./NAME.key_secret).")
    var curveKey: String?

    func validate() throws {
        if (curveServerKey == nil) != (curveKey == nil) {
            throw ValidationError("--curve-server-key and --curve-key go together")
        }
    }

    /// The client keys (server public, own public, own secret), or nil without CURVE.
    func keys() throws -> (server: String, publicKey: String, secretKey: String)? {
        guard let serverFile = curveServerKey, let key = curveKey else { return nil }
        let server = try Self.readKey(serverFile)
        var secretFile = key
        if !FileManager.default.fileExists(atPath: secretFile) { secretFile = key + ".key_secret" }
        let secret = try Self.readKey(secretFile)
        let publicKey: String
        do { publicKey = try ZmqCurve.publicKey(forSecretKey: secret) } catch {
            throw ValidationError("\(secretFile) is not a CURVE secret key")
        }
        return (server, publicKey, secret)
    }

    static func readKey(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("cannot read \(path)") }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.utf8.count == 40 else { throw ValidationError("\(path) does not hold a Z85 CURVE key (40 characters)") }
        return text
    }
}
