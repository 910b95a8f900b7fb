import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A libzmq context (`zmq_ctx_new`): owns the I/O threads and creates sockets.
///
/// Thread safety: libzmq contexts are thread-safe, so a context may be shared
/// freely between threads and tasks (hence `@unchecked Sendable`).
///
/// Lifetime: every ``ZmqSocket`` keeps a strong reference to its context, so the
/// context is terminated (`zmq_ctx_term`, in `deinit`) only after all its sockets
/// are gone. `ZMQ_BLOCKY` is set to 0 and sockets get a bounded linger, so
/// termination does not wait forever for unsent messages.
///
/// Cost: creating a context starts `ioThreads` background threads; create one per
/// process and share it.
public final class ZmqContext: @unchecked Sendable {
    /// The raw `void*` context handle, for interop with other libzmq code.
    /// Valid for the lifetime of this object.
    public let handle: UnsafeMutableRawPointer

    /// Creates a context with `ioThreads` I/O threads (`ZMQ_IO_THREADS`, default 1).
    /// Throws a ``ZmqError`` if libzmq cannot create it (e.g. too many open files).
    public init(ioThreads: Int32 = 1) throws {
        guard let ctx = zmq_ctx_new() else {
            throw ZmqError.last("zmq_ctx_new")
        }
        handle = ctx
        // Sockets created without an explicit linger default to 0 instead of
        // infinity, so zmq_ctx_term cannot hang on undeliverable messages.
        _ = zmq_ctx_set(ctx, ZMQ_BLOCKY, 0)
        if ioThreads != 1, zmq_ctx_set(ctx, ZMQ_IO_THREADS, ioThreads) != 0 {
            let error = ZmqError.last("zmq_ctx_set ZMQ_IO_THREADS \(ioThreads)")
            _ = zmq_ctx_term(ctx)
            throw error
        }
    }

    /// Shuts the context down (`zmq_ctx_shutdown`): every blocking call on any of
    /// its sockets, in any thread, returns with ``ZmqError/isTerminated`` set, and
    /// new sockets can no longer be created. Sockets must still be closed.
    ///
    /// Use it to stop receiver threads during process shutdown. Safe to call more
    /// than once and from any thread. Cost: one cheap C call; does not block.
    public func shutdown() {
        _ = zmq_ctx_shutdown(handle)
    }

    deinit {
        // All sockets hold a strong reference to us, so they are closed by now;
        // with bounded linger this returns promptly. Retry on EINTR as documented.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }
}
