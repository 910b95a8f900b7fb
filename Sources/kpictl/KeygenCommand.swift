import ArgumentParser
import Foundation
import ZeroMQ

/// `kpictl keygen NAME`: a CURVE key pair as two Z85 files, `NAME.key` (public, 0644) and
/// `NAME.key_secret` (secret, 0600, created with that mode so it is never readable by others).
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Write a CURVE key pair: NAME.key (public, 0644) and NAME.key_secret (secret, 0600).",
        discussion: """
            For the server, point a source's curve_secret_key at NAME.key_secret and give NAME.key \
            to publishers (--curve-server-key). For a publisher, put NAME.key into the source's \
            curve_clients directory (NAME becomes the publisher identity) and keep NAME.key_secret \
            on the publisher (--curve-key).
            """
    )

    @Argument(help: "Key name; for a publisher, its identity in [[publishers]].")
    var name: String

    @Option(help: "Directory to write the files to (created if missing).")
    var dir: String = "."

    @Flag(help: "Overwrite existing files.")
    var force = false

    func validate() throws {
        guard !name.isEmpty, !name.contains("/"), name.allSatisfy({ !$0.isWhitespace }) else {
            throw ValidationError("NAME must be a non-empty file name without '/' or spaces")
        }
    }

    func run() throws {
        let keys = try ZmqCurve.generateKeyPair()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let publicFile = URL(fileURLWithPath: dir).appendingPathComponent("\(name).key").path
        let secretFile = URL(fileURLWithPath: dir).appendingPathComponent("\(name).key_secret").path
        try KeyFileWriter.write(keys.secretKey, to: secretFile, mode: 0o600, force: force)
        try KeyFileWriter.write(keys.publicKey, to: publicFile, mode: 0o644, force: force)
        print(publicFile)
        print(secretFile)
    }
}

/// Writes one key file with a fixed mode (set at creation and again afterwards, whatever the umask).
enum KeyFileWriter {
    static func write(_ key: String, to path: String, mode: mode_t, force: Bool) throws {
        let flags = O_WRONLY | O_CREAT | O_TRUNC | (force ? 0 : O_EXCL)
        let fd = open(path, flags, mode)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw ValidationError("cannot create \(path): \(reason)\(errno == EEXIST ? " (use --force to overwrite)" : "")")
        }
        defer { close(fd) }
        guard fchmod(fd, mode) == 0 else { throw ValidationError("cannot set the mode of \(path)") }
        let bytes = Array((key + "\n").utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        guard written == bytes.count else { throw ValidationError("cannot write \(path)") }
    }
}
