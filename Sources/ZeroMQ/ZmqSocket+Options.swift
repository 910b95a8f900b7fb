import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Socket options (zmq_setsockopt / zmq_getsockopt).
//
// Every setter and getter is one C call; getters of strings and bytes also
// allocate the result. Options that affect connections (high-water marks,
// maximum message size, CURVE keys) must be set before bind/connect.

// MARK: - Generic access

extension ZmqSocket {
    /// Sets an `int` option (`zmq_setsockopt`), e.g. `setOption(ZMQ_RCVHWM, int32: 1000)`.
    /// Throws a ``ZmqError`` (`EINVAL` for unknown options or bad values).
    public func setOption(_ option: Int32, int32 value: Int32) throws {
        var value = value
        try setOption(option, raw: &value, length: MemoryLayout<Int32>.size)
    }

    /// Sets an `int64_t` option (`zmq_setsockopt`), e.g. `ZMQ_MAXMSGSIZE`.
    public func setOption(_ option: Int32, int64 value: Int64) throws {
        var value = value
        try setOption(option, raw: &value, length: MemoryLayout<Int64>.size)
    }

    /// Sets a binary option from raw bytes (`zmq_setsockopt`), e.g. `ZMQ_SUBSCRIBE`.
    public func setOption(_ option: Int32, bytes: UnsafeRawBufferPointer) throws {
        if let base = bytes.baseAddress {
            try setOption(option, raw: base, length: bytes.count)
        } else {
            // Never hand libzmq a NULL pointer, even for an empty value.
            var zero: UInt8 = 0
            try setOption(option, raw: &zero, length: 0)
        }
    }

    /// Sets a binary option from a byte array.
    public func setOption(_ option: Int32, bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try setOption(option, bytes: $0) }
    }

    /// Sets a string option. The UTF-8 bytes are passed **without** a trailing NUL
    /// (what libzmq expects for `ZMQ_ZAP_DOMAIN`, `ZMQ_SUBSCRIBE`, `ZMQ_ROUTING_ID`, …).
    public func setOption(_ option: Int32, string: String) throws {
        try setOption(option, bytes: Array(string.utf8))
    }

    /// Reads an `int` option (`zmq_getsockopt`).
    public func getInt32Option(_ option: Int32) throws -> Int32 {
        var value: Int32 = 0
        var length = MemoryLayout<Int32>.size
        try getOption(option, raw: &value, length: &length)
        return value
    }

    /// Reads an `int64_t` option (`zmq_getsockopt`).
    public func getInt64Option(_ option: Int32) throws -> Int64 {
        var value: Int64 = 0
        var length = MemoryLayout<Int64>.size
        try getOption(option, raw: &value, length: &length)
        return value
    }

    /// Reads a binary option into a buffer of `capacity` bytes and returns the bytes
    /// libzmq reported (`EINVAL` if `capacity` is too small). Allocates the result.
    public func getBytesOption(_ option: Int32, capacity: Int = 256) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: capacity)
        var length = capacity
        try buffer.withUnsafeMutableBytes { try getOption(option, raw: $0.baseAddress!, length: &length) }
        buffer.removeSubrange(length...)
        return buffer
    }

    /// Reads a NUL-terminated string option (e.g. `ZMQ_LAST_ENDPOINT`, Z85 CURVE keys),
    /// without its trailing NUL. Allocates the result.
    public func getStringOption(_ option: Int32, capacity: Int = 256) throws -> String {
        var bytes = try getBytesOption(option, capacity: capacity)
        if let nul = bytes.firstIndex(of: 0) { bytes.removeSubrange(nul...) }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func setOption(_ option: Int32, raw: UnsafeRawPointer, length: Int) throws {
        let socket = try requireOpen("setsockopt \(option)")
        if zmq_setsockopt(socket, option, raw, length) != 0 {
            throw ZmqError.last("setsockopt \(option)")
        }
    }

    private func getOption(_ option: Int32, raw: UnsafeMutableRawPointer, length: inout Int) throws {
        let socket = try requireOpen("getsockopt \(option)")
        if zmq_getsockopt(socket, option, raw, &length) != 0 {
            throw ZmqError.last("getsockopt \(option)")
        }
    }
}

// MARK: - Named options

extension ZmqSocket {
    /// Receive high-water mark (`ZMQ_RCVHWM`): the maximum number of messages queued
    /// per peer before libzmq stops reading / drops (0 = unlimited, default 1000).
    public var receiveHighWaterMark: Int32 { get throws { try getInt32Option(ZMQ_RCVHWM) } }
    /// Sets ``receiveHighWaterMark``; set it before bind/connect.
    public func setReceiveHighWaterMark(_ messages: Int32) throws { try setOption(ZMQ_RCVHWM, int32: messages) }

    /// Send high-water mark (`ZMQ_SNDHWM`): the maximum number of outgoing messages
    /// queued per peer; beyond it PUSH/DEALER block and PUB drops (0 = unlimited, default 1000).
    public var sendHighWaterMark: Int32 { get throws { try getInt32Option(ZMQ_SNDHWM) } }
    /// Sets ``sendHighWaterMark``; set it before bind/connect.
    public func setSendHighWaterMark(_ messages: Int32) throws { try setOption(ZMQ_SNDHWM, int32: messages) }

    /// Linger period in milliseconds (`ZMQ_LINGER`): how long pending outgoing
    /// messages are kept after close (0 = drop at once, -1 = forever). The wrapper's default is 0.
    public var linger: Int32 { get throws { try getInt32Option(ZMQ_LINGER) } }
    /// Sets ``linger`` in milliseconds.
    public func setLinger(_ milliseconds: Int32) throws { try setOption(ZMQ_LINGER, int32: milliseconds) }

    /// Largest accepted inbound message in bytes (`ZMQ_MAXMSGSIZE`, -1 = unlimited).
    /// A peer that sends a larger message is disconnected and the message is never delivered.
    public var maxMessageSize: Int64 { get throws { try getInt64Option(ZMQ_MAXMSGSIZE) } }
    /// Sets ``maxMessageSize`` in bytes; set it before bind/connect.
    public func setMaxMessageSize(_ bytes: Int64) throws { try setOption(ZMQ_MAXMSGSIZE, int64: bytes) }

    /// Receive timeout in milliseconds (`ZMQ_RCVTIMEO`, -1 = block forever, 0 = never block).
    /// When it expires, blocking receives return `false`.
    public var receiveTimeout: Int32 { get throws { try getInt32Option(ZMQ_RCVTIMEO) } }
    /// Sets ``receiveTimeout`` in milliseconds.
    public func setReceiveTimeout(_ milliseconds: Int32) throws { try setOption(ZMQ_RCVTIMEO, int32: milliseconds) }

    /// Send timeout in milliseconds (`ZMQ_SNDTIMEO`, -1 = block forever, 0 = never block).
    /// When it expires, sends return `false`.
    public var sendTimeout: Int32 { get throws { try getInt32Option(ZMQ_SNDTIMEO) } }
    /// Sets ``sendTimeout`` in milliseconds.
    public func setSendTimeout(_ milliseconds: Int32) throws { try setOption(ZMQ_SNDTIMEO, int32: milliseconds) }

    /// `ZMQ_IMMEDIATE`: when `true`, messages are only queued to completed connections
    /// (a PUSH with no connected peer then blocks / returns `false` instead of queueing).
    public func setImmediate(_ enabled: Bool) throws { try setOption(ZMQ_IMMEDIATE, int32: enabled ? 1 : 0) }

    /// Reconnect interval in milliseconds (`ZMQ_RECONNECT_IVL`, default 100, -1 = no reconnect).
    public func setReconnectInterval(_ milliseconds: Int32) throws { try setOption(ZMQ_RECONNECT_IVL, int32: milliseconds) }

    /// `ZMQ_IPV6`: allow IPv6 on TCP endpoints (also needed to bind `tcp://*` dual-stack).
    public func setIPv6(_ enabled: Bool) throws { try setOption(ZMQ_IPV6, int32: enabled ? 1 : 0) }

    /// Subscribes a SUB socket to messages whose first frame starts with `prefix`
    /// (`ZMQ_SUBSCRIBE`; an empty prefix matches everything). Cheap; may be called
    /// before or after connect. Subscriptions reach publishers asynchronously.
    public func subscribe(_ prefix: [UInt8]) throws { try setOption(ZMQ_SUBSCRIBE, bytes: prefix) }
    /// Subscribes to a UTF-8 topic prefix. Same as the byte-array form.
    public func subscribe(_ prefix: String) throws { try setOption(ZMQ_SUBSCRIBE, string: prefix) }
    /// Removes one earlier subscription to `prefix` (`ZMQ_UNSUBSCRIBE`).
    public func unsubscribe(_ prefix: [UInt8]) throws { try setOption(ZMQ_UNSUBSCRIBE, bytes: prefix) }
    /// Removes one earlier subscription to a UTF-8 topic prefix.
    public func unsubscribe(_ prefix: String) throws { try setOption(ZMQ_UNSUBSCRIBE, string: prefix) }
}

// MARK: - Security (CURVE / ZAP)

extension ZmqSocket {
    /// A security mechanism (`ZMQ_MECHANISM` values).
    public enum Mechanism: Sendable, Hashable {
        /// No security (`ZMQ_NULL`), the default.
        case null
        /// Clear-text user name and password (`ZMQ_PLAIN`).
        case plain
        /// CurveZMQ encryption and authentication (`ZMQ_CURVE`).
        case curve
        /// Kerberos (`ZMQ_GSSAPI`).
        case gssapi
        /// A value this binding does not know.
        case other(Int32)

        init(rawValue: Int32) {
            switch rawValue {
            case ZMQ_NULL: self = .null
            case ZMQ_PLAIN: self = .plain
            case ZMQ_CURVE: self = .curve
            case ZMQ_GSSAPI: self = .gssapi
            default: self = .other(rawValue)
            }
        }
    }

    /// The security mechanism configured on this socket (`ZMQ_MECHANISM`).
    public var mechanism: Mechanism { get throws { Mechanism(rawValue: try getInt32Option(ZMQ_MECHANISM)) } }

    /// Whether this socket acts as a CURVE server (`ZMQ_CURVE_SERVER`).
    public var curveServer: Bool { get throws { try getInt32Option(ZMQ_CURVE_SERVER) != 0 } }
    /// Makes this socket a CURVE server (`ZMQ_CURVE_SERVER`). A server also needs
    /// a secret key. Set before bind.
    public func setCurveServer(_ enabled: Bool) throws { try setOption(ZMQ_CURVE_SERVER, int32: enabled ? 1 : 0) }

    /// Sets this socket's long-term public key (`ZMQ_CURVE_PUBLICKEY`) from a
    /// 40-character Z85 string. Clients need it; servers do not.
    public func setCurvePublicKey(_ z85: String) throws { try setCurveKey(ZMQ_CURVE_PUBLICKEY, z85: z85, name: "ZMQ_CURVE_PUBLICKEY") }
    /// Sets this socket's public key from 32 raw bytes.
    public func setCurvePublicKey(_ key: [UInt8]) throws { try setCurveKey(ZMQ_CURVE_PUBLICKEY, raw: key, name: "ZMQ_CURVE_PUBLICKEY") }
    /// This socket's public key as Z85 (`ZMQ_CURVE_PUBLICKEY`). Allocates.
    public var curvePublicKey: String { get throws { try getStringOption(ZMQ_CURVE_PUBLICKEY, capacity: 41) } }

    /// Sets this socket's long-term secret key (`ZMQ_CURVE_SECRETKEY`) from a
    /// 40-character Z85 string. Needed by servers and clients.
    public func setCurveSecretKey(_ z85: String) throws { try setCurveKey(ZMQ_CURVE_SECRETKEY, z85: z85, name: "ZMQ_CURVE_SECRETKEY") }
    /// Sets this socket's secret key from 32 raw bytes.
    public func setCurveSecretKey(_ key: [UInt8]) throws { try setCurveKey(ZMQ_CURVE_SECRETKEY, raw: key, name: "ZMQ_CURVE_SECRETKEY") }

    /// Sets the server's public key on a CURVE client (`ZMQ_CURVE_SERVERKEY`) from a
    /// 40-character Z85 string; setting it makes the socket a CURVE client. Set before connect.
    public func setCurveServerKey(_ z85: String) throws { try setCurveKey(ZMQ_CURVE_SERVERKEY, z85: z85, name: "ZMQ_CURVE_SERVERKEY") }
    /// Sets the server's public key on a CURVE client from 32 raw bytes.
    public func setCurveServerKey(_ key: [UInt8]) throws { try setCurveKey(ZMQ_CURVE_SERVERKEY, raw: key, name: "ZMQ_CURVE_SERVERKEY") }

    /// The ZAP authentication domain (`ZMQ_ZAP_DOMAIN`), sent to the ZAP handler at
    /// `inproc://zeromq.zap.01` with each handshake. Allocates.
    public var zapDomain: String { get throws { try getStringOption(ZMQ_ZAP_DOMAIN) } }
    /// Sets the ZAP authentication domain. Set before bind.
    public func setZapDomain(_ domain: String) throws { try setOption(ZMQ_ZAP_DOMAIN, string: domain) }

    private func setCurveKey(_ option: Int32, z85: String, name: String) throws {
        var bytes = Array(z85.utf8)
        guard bytes.count == 40 else {
            throw ZmqError(errno: EINVAL, operation: "setsockopt \(name): Z85 key must be 40 characters, got \(bytes.count)")
        }
        bytes.append(0)  // libzmq takes a Z85 key as 41 bytes including the NUL
        let socket = try requireOpen("setsockopt \(name)")
        if zmq_setsockopt(socket, option, bytes, bytes.count) != 0 {
            throw ZmqError.last("setsockopt \(name)")
        }
    }

    private func setCurveKey(_ option: Int32, raw key: [UInt8], name: String) throws {
        guard key.count == 32 else {
            throw ZmqError(errno: EINVAL, operation: "setsockopt \(name): binary key must be 32 bytes, got \(key.count)")
        }
        let socket = try requireOpen("setsockopt \(name)")
        if zmq_setsockopt(socket, option, key, key.count) != 0 {
            throw ZmqError.last("setsockopt \(name)")
        }
    }
}
