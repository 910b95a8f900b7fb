import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// CURVE key helpers and Z85 encoding (ZeroMQ RFC 32).
///
/// CURVE keys are 32 bytes; as text they are 40 Z85 characters. A server needs its
/// secret key (and `setCurveServer(true)`); a client needs its own key pair and the
/// server's public key. All functions are cheap (key generation reads the system RNG
/// through libsodium) and allocate only their results.
public enum ZmqCurve {
    /// Whether the loaded libzmq supports CURVE (`zmq_has("curve")`).
    public static var isAvailable: Bool { zmq_has("curve") != 0 }

    /// Generates a new long-term key pair (`zmq_curve_keypair`), both keys as
    /// 40-character Z85 strings. Throws `ENOTSUP` if libzmq lacks CURVE support.
    public static func generateKeyPair() throws -> (publicKey: String, secretKey: String) {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        if zmq_curve_keypair(&publicKey, &secretKey) != 0 {
            throw ZmqError.last("zmq_curve_keypair")
        }
        return (string(from: publicKey), string(from: secretKey))
    }

    /// Derives the Z85 public key belonging to a Z85 secret key (`zmq_curve_public`).
    /// Throws `EINVAL` for a malformed key, `ENOTSUP` without CURVE support.
    public static func publicKey(forSecretKey secretKey: String) throws -> String {
        guard secretKey.utf8.count == 40 else {
            throw ZmqError(errno: EINVAL, operation: "zmq_curve_public: secret key must be 40 Z85 characters")
        }
        var publicKey = [CChar](repeating: 0, count: 41)
        if zmq_curve_public(&publicKey, secretKey) != 0 {
            throw ZmqError.last("zmq_curve_public")
        }
        return string(from: publicKey)
    }

    /// Encodes bytes as Z85 (`zmq_z85_encode`); 4 bytes become 5 characters.
    /// Throws `EINVAL` unless `bytes.count` is a multiple of 4.
    public static func z85Encode(_ bytes: [UInt8]) throws -> String {
        guard bytes.count % 4 == 0 else {
            throw ZmqError(errno: EINVAL, operation: "z85 encode: length \(bytes.count) is not a multiple of 4")
        }
        var text = [CChar](repeating: 0, count: bytes.count / 4 * 5 + 1)
        guard zmq_z85_encode(&text, bytes, bytes.count) != nil else {
            throw ZmqError.last("z85 encode")
        }
        return string(from: text)
    }

    /// Decodes Z85 text (`zmq_z85_decode`); 5 characters become 4 bytes.
    /// Throws `EINVAL` unless the length is a multiple of 5 and every character is valid Z85.
    public static func z85Decode(_ text: String) throws -> [UInt8] {
        let length = text.utf8.count
        guard length % 5 == 0 else {
            throw ZmqError(errno: EINVAL, operation: "z85 decode: length \(length) is not a multiple of 5")
        }
        var bytes = [UInt8](repeating: 0, count: length / 5 * 4)
        if length == 0 { return bytes }
        guard zmq_z85_decode(&bytes, text) != nil else {
            throw ZmqError(errno: EINVAL, operation: "z85 decode: invalid Z85 text")
        }
        return bytes
    }

    private static func string(from chars: [CChar]) -> String {
        let bytes = chars.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
