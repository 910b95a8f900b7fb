import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One socket event reported by a ``ZmqMonitor``.
public struct ZmqMonitorEvent: Sendable, Equatable, CustomStringConvertible {
    /// What happened, with the event's value where it carries meaning.
    public enum Kind: Sendable, Equatable {
        /// A connect completed (`ZMQ_EVENT_CONNECTED`).
        case connected
        /// A connect is pending and will complete asynchronously (`ZMQ_EVENT_CONNECT_DELAYED`).
        case connectDelayed
        /// A reconnect will be tried after `intervalMilliseconds` (`ZMQ_EVENT_CONNECT_RETRIED`).
        case connectRetried(intervalMilliseconds: Int)
        /// A bind succeeded (`ZMQ_EVENT_LISTENING`).
        case listening
        /// A bind failed with `errno` (`ZMQ_EVENT_BIND_FAILED`).
        case bindFailed(errno: Int32)
        /// A peer connection was accepted (`ZMQ_EVENT_ACCEPTED`).
        case accepted
        /// Accepting a connection failed with `errno` (`ZMQ_EVENT_ACCEPT_FAILED`).
        case acceptFailed(errno: Int32)
        /// A connection or listener was closed (`ZMQ_EVENT_CLOSED`).
        case closed
        /// Closing failed with `errno` (`ZMQ_EVENT_CLOSE_FAILED`).
        case closeFailed(errno: Int32)
        /// A peer disconnected unexpectedly (`ZMQ_EVENT_DISCONNECTED`).
        case disconnected
        /// Monitoring stopped, e.g. the monitored socket was closed (`ZMQ_EVENT_MONITOR_STOPPED`).
        case monitorStopped
        /// A security handshake completed (`ZMQ_EVENT_HANDSHAKE_SUCCEEDED`).
        case handshakeSucceeded
        /// A handshake failed without details, e.g. a network error (`ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL`).
        case handshakeFailedNoDetail(errno: Int32)
        /// A handshake failed on a protocol error; `code` is a `ZMQ_PROTOCOL_ERROR_*` value
        /// (`ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL`).
        case handshakeFailedProtocol(code: Int)
        /// Authentication was refused; `code` is the ZAP status code, e.g. 400
        /// (`ZMQ_EVENT_HANDSHAKE_FAILED_AUTH`).
        case handshakeFailedAuth(code: Int)
        /// Any other event id, with its raw value.
        case other(id: Int, value: Int)
    }

    /// What happened.
    public let kind: Kind
    /// The raw 32-bit value that came with the event.
    public let value: UInt32
    /// The endpoint the event concerns, e.g. `"tcp://127.0.0.1:5555"`.
    public let endpoint: String

    /// Decodes an event from its raw id (16 bits), value (32 bits) and endpoint.
    public init(id: UInt16, value: UInt32, endpoint: String) {
        self.value = value
        self.endpoint = endpoint
        let signed = Int32(bitPattern: value)
        switch Int32(id) {
        case ZMQ_EVENT_CONNECTED: kind = .connected
        case ZMQ_EVENT_CONNECT_DELAYED: kind = .connectDelayed
        case ZMQ_EVENT_CONNECT_RETRIED: kind = .connectRetried(intervalMilliseconds: Int(value))
        case ZMQ_EVENT_LISTENING: kind = .listening
        case ZMQ_EVENT_BIND_FAILED: kind = .bindFailed(errno: signed)
        case ZMQ_EVENT_ACCEPTED: kind = .accepted
        case ZMQ_EVENT_ACCEPT_FAILED: kind = .acceptFailed(errno: signed)
        case ZMQ_EVENT_CLOSED: kind = .closed
        case ZMQ_EVENT_CLOSE_FAILED: kind = .closeFailed(errno: signed)
        case ZMQ_EVENT_DISCONNECTED: kind = .disconnected
        case ZMQ_EVENT_MONITOR_STOPPED: kind = .monitorStopped
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: kind = .handshakeSucceeded
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: kind = .handshakeFailedNoDetail(errno: signed)
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: kind = .handshakeFailedProtocol(code: Int(value))
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: kind = .handshakeFailedAuth(code: Int(value))
        default: kind = .other(id: Int(id), value: Int(value))
        }
    }

    /// `"<kind> <endpoint>"`.
    public var description: String { "\(kind) \(endpoint)" }
}

/// Watches the connection events of a socket (`zmq_socket_monitor`): libzmq publishes
/// them on an inproc PAIR endpoint, which this object connects to and decodes.
///
/// Use it to log handshakes, authentication failures and disconnects. ``socket`` can
/// be added to a ``ZmqPoller``. Events are queued up to the PAIR socket's high-water
/// mark and dropped beyond it.
///
/// Thread safety: the monitor touches the monitored socket when it stops, so it
/// belongs to the same thread as that socket (`@unchecked Sendable` only to move it
/// together with the socket). It keeps the monitored socket alive.
/// Cost: an extra socket and one small message per event; reading an event allocates
/// the endpoint string.
public final class ZmqMonitor: @unchecked Sendable {
    /// The PAIR socket that receives the events (pollable; its receive timeout applies to ``next(dontWait:)``).
    public let socket: ZmqSocket
    /// The inproc endpoint the events are published on.
    public let endpoint: String
    private let monitored: ZmqSocket
    private let message = ZmqMultipartMessage(maxFrames: 2)
    private var stopped = false

    /// The event mask of failed security handshakes: no detail, protocol error (e.g. a plain-text
    /// peer on a CURVE socket) and refused authentication.
    public static let handshakeFailureEvents: Int32 =
        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
    /// The event mask of dropped connections (`ZMQ_EVENT_DISCONNECTED`).
    public static let disconnectedEvent: Int32 = ZMQ_EVENT_DISCONNECTED
    /// `ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH`: the peer uses another security mechanism.
    public static let mechanismMismatchCode = Int(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)

    /// Starts monitoring `monitored` for `events` (a mask of `ZMQ_EVENT_*`, default all).
    /// Throws a ``ZmqError`` if the socket is closed or monitoring cannot start.
    public init(_ monitored: ZmqSocket, events: Int32 = ZMQ_EVENT_ALL) throws {
        let handle = try monitored.requireOpen("monitor")
        let endpoint = "inproc://kpid.monitor.\(UInt(bitPattern: handle)).\(UInt64.random(in: 0 ... .max))"
        if zmq_socket_monitor(handle, endpoint, events) != 0 {
            throw ZmqError.last("monitor \(endpoint)")
        }
        do {
            let pair = try ZmqSocket(context: monitored.context, kind: .pair)
            try pair.connect(endpoint)
            self.socket = pair
        } catch {
            _ = zmq_socket_monitor(handle, nil, 0)
            throw error
        }
        self.monitored = monitored
        self.endpoint = endpoint
    }

    deinit {
        stop()
    }

    /// Receives the next event. Returns `nil` when none is available with `dontWait`
    /// or the ``socket``'s receive timeout expires. Throws like
    /// ``ZmqSocket/receive(into:dontWait:)``, or `EPROTO` for a malformed event.
    public func next(dontWait: Bool = false) throws -> ZmqMonitorEvent? {
        guard try socket.receive(into: message, dontWait: dontWait) else { return nil }
        guard message.frameCount == 2, message.frameSize(0) == 6 else {
            throw ZmqError(errno: EPROTO, operation: "monitor event with \(message.frameCount) frames")
        }
        let header = message.frame(0)
        let id = header.loadUnaligned(fromByteOffset: 0, as: UInt16.self)
        let value = header.loadUnaligned(fromByteOffset: 2, as: UInt32.self)
        let event = ZmqMonitorEvent(id: id, value: value, endpoint: message.string(1))
        message.clear()
        return event
    }

    /// Stops monitoring and closes ``socket``. Idempotent; also called by `deinit`.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        if let handle = monitored.handle {
            _ = zmq_socket_monitor(handle, nil, 0)
        }
        socket.close()
    }
}
