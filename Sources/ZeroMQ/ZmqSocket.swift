import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A libzmq socket (`zmq_socket`).
///
/// Thread safety: libzmq sockets are **not** thread-safe. A socket belongs to one
/// thread at a time. It is marked `@unchecked Sendable` so that it can be created
/// in one place and *moved* to the thread or task that uses it, but it must never
/// be used from two threads concurrently. The only cross-thread way to interrupt a
/// socket is ``ZmqContext/shutdown()``.
///
/// Lifetime: the socket keeps its ``ZmqContext`` alive. ``close()`` is idempotent
/// and is called by `deinit`. Linger is set at creation (default 0 ms) so closing
/// never blocks on undeliverable messages.
///
/// Every operation on a closed socket throws a ``ZmqError`` with `ENOTSOCK`.
public final class ZmqSocket: @unchecked Sendable {
    /// The socket pattern, mapped to libzmq's `ZMQ_*` socket types.
    public enum Kind: Sendable, Hashable, CaseIterable {
        /// `ZMQ_PUB`: fan-out publisher; drops messages when a subscriber is slow.
        case pub
        /// `ZMQ_SUB`: subscriber; receives nothing until `subscribe` is called.
        case sub
        /// `ZMQ_XPUB`: publisher that also receives subscription messages.
        case xpub
        /// `ZMQ_XSUB`: subscriber that sends subscriptions as messages.
        case xsub
        /// `ZMQ_PUSH`: round-robin pipeline sender; blocks at the high-water mark.
        case push
        /// `ZMQ_PULL`: fair-queued pipeline receiver.
        case pull
        /// `ZMQ_REQ`: strict send/receive request client.
        case req
        /// `ZMQ_REP`: strict receive/send reply server.
        case rep
        /// `ZMQ_PAIR`: exclusive one-to-one connection (typically inproc).
        case pair
        /// `ZMQ_DEALER`: asynchronous request client.
        case dealer
        /// `ZMQ_ROUTER`: asynchronous server that prefixes messages with the peer routing id.
        case router

        /// The libzmq socket type constant.
        public var rawValue: Int32 {
            switch self {
            case .pub: ZMQ_PUB
            case .sub: ZMQ_SUB
            case .xpub: ZMQ_XPUB
            case .xsub: ZMQ_XSUB
            case .push: ZMQ_PUSH
            case .pull: ZMQ_PULL
            case .req: ZMQ_REQ
            case .rep: ZMQ_REP
            case .pair: ZMQ_PAIR
            case .dealer: ZMQ_DEALER
            case .router: ZMQ_ROUTER
            }
        }
    }

    /// The context this socket was created in (kept alive by the socket).
    public let context: ZmqContext
    /// The socket pattern.
    public let kind: Kind
    /// The raw `void*` socket handle, or `nil` once closed. For interop only;
    /// do not close it behind the wrapper's back.
    public private(set) var handle: UnsafeMutableRawPointer?

    /// Creates a socket of `kind` in `context` and sets `ZMQ_LINGER` to
    /// `lingerMilliseconds` (default 0: pending messages are dropped on close;
    /// -1 would wait forever and is discouraged).
    ///
    /// Throws a ``ZmqError`` (`ETERM` after ``ZmqContext/shutdown()``, `EMFILE`
    /// when the socket limit is reached). Cost: one C call plus one `setsockopt`.
    public init(context: ZmqContext, kind: Kind, lingerMilliseconds: Int32 = 0) throws {
        guard let socket = zmq_socket(context.handle, kind.rawValue) else {
            throw ZmqError.last("socket \(kind)")
        }
        self.context = context
        self.kind = kind
        self.handle = socket
        do {
            try setLinger(lingerMilliseconds)
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
    }

    /// `true` once ``close()`` has been called.
    public var isClosed: Bool { handle == nil }

    /// Closes the socket (`zmq_close`). Idempotent: later calls do nothing.
    /// Pending outgoing messages are kept for at most the linger period, in the
    /// background; this call itself does not block.
    public func close() {
        guard let socket = handle else { return }
        handle = nil
        _ = zmq_close(socket)
    }

    /// Binds to `endpoint` (`zmq_bind`), e.g. `"tcp://127.0.0.1:*"`, `"ipc:///run/kpid.sock"`,
    /// `"inproc://name"`. Use ``lastEndpoint`` to learn a wildcard port.
    /// Throws a ``ZmqError`` naming the endpoint (e.g. `EADDRINUSE`, `EPROTONOSUPPORT`).
    public func bind(_ endpoint: String) throws {
        let socket = try requireOpen("bind \(endpoint)")
        if zmq_bind(socket, endpoint) != 0 {
            throw ZmqError.last("bind \(endpoint)")
        }
    }

    /// Connects to `endpoint` (`zmq_connect`). Connection happens asynchronously in
    /// the background and is retried; this only fails for malformed endpoints or
    /// unsupported transports. Throws a ``ZmqError`` naming the endpoint.
    public func connect(_ endpoint: String) throws {
        let socket = try requireOpen("connect \(endpoint)")
        if zmq_connect(socket, endpoint) != 0 {
            throw ZmqError.last("connect \(endpoint)")
        }
    }

    /// Stops listening on `endpoint` (`zmq_unbind`); pass the ``lastEndpoint`` value
    /// for wildcard binds. The listener is closed asynchronously by libzmq's I/O thread,
    /// so binding the same address again right away may briefly fail with `EADDRINUSE`.
    /// Throws a ``ZmqError`` (`ENOENT` if not bound) naming the endpoint.
    public func unbind(_ endpoint: String) throws {
        let socket = try requireOpen("unbind \(endpoint)")
        if zmq_unbind(socket, endpoint) != 0 {
            throw ZmqError.last("unbind \(endpoint)")
        }
    }

    /// Disconnects from `endpoint` (`zmq_disconnect`). Throws a ``ZmqError``
    /// (`ENOENT` if not connected) naming the endpoint.
    public func disconnect(_ endpoint: String) throws {
        let socket = try requireOpen("disconnect \(endpoint)")
        if zmq_disconnect(socket, endpoint) != 0 {
            throw ZmqError.last("disconnect \(endpoint)")
        }
    }

    /// The endpoint of the last bind or connect (`ZMQ_LAST_ENDPOINT`), with wildcard
    /// ports resolved, e.g. `"tcp://127.0.0.1:41234"`. Empty if none.
    /// Cost: one `getsockopt` and a string allocation.
    public var lastEndpoint: String {
        get throws { try getStringOption(ZMQ_LAST_ENDPOINT, capacity: 1024) }
    }

    /// Returns the open handle, or throws `ENOTSOCK` naming `operation`.
    @inline(__always)
    func requireOpen(_ operation: @autoclosure () -> String) throws -> UnsafeMutableRawPointer {
        guard let socket = handle else {
            throw ZmqError(errno: ENOTSOCK, operation: operation())
        }
        return socket
    }
}
