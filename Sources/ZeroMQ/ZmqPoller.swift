import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits on several sockets (and optionally plain file descriptors) at once with
/// `zmq_poll`, reusing one preallocated `zmq_pollitem_t` array.
///
/// Register items once with ``add(_:events:)``, then call ``poll(timeoutMilliseconds:)``
/// in a loop and ask ``isReadable(_:)`` for each index. Polling allocates nothing.
///
/// Thread safety: a poller, like its sockets, belongs to one thread at a time
/// (`@unchecked Sendable` allows moving it, not sharing it). The poller keeps its
/// sockets alive; polling a socket that was closed throws `ENOTSOCK`.
public final class ZmqPoller: @unchecked Sendable {
    /// The conditions to wait for / that occurred on an item.
    public struct Events: OptionSet, Sendable, Hashable {
        /// The raw `ZMQ_POLL*` bits.
        public let rawValue: Int16
        /// Creates a set from raw `ZMQ_POLL*` bits.
        public init(rawValue: Int16) { self.rawValue = rawValue }
        /// At least one message can be received without blocking (`ZMQ_POLLIN`).
        public static let readable = Events(rawValue: Int16(ZMQ_POLLIN))
        /// At least one message can be sent without blocking (`ZMQ_POLLOUT`).
        public static let writable = Events(rawValue: Int16(ZMQ_POLLOUT))
        /// An error condition on a plain file descriptor (`ZMQ_POLLERR`).
        public static let error = Events(rawValue: Int16(ZMQ_POLLERR))
    }

    private var sockets: [ZmqSocket?] = []
    private var items: [zmq_pollitem_t] = []

    /// Creates an empty poller with room for `capacity` items before it grows.
    public init(capacity: Int = 4) {
        sockets.reserveCapacity(capacity)
        items.reserveCapacity(capacity)
    }

    /// The number of registered items.
    public var count: Int { items.count }

    /// Registers `socket` for `events` and returns its index for ``isReadable(_:)``.
    /// Cost: amortised O(1); call it during setup, not per poll.
    @discardableResult
    public func add(_ socket: ZmqSocket, events: Events = .readable) -> Int {
        sockets.append(socket)
        items.append(zmq_pollitem_t(socket: socket.handle, fd: 0, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Registers a plain file descriptor (e.g. a pipe or eventfd used to wake the
    /// loop) for `events` and returns its index.
    @discardableResult
    public func add(fileDescriptor: Int32, events: Events = .readable) -> Int {
        sockets.append(nil)
        items.append(zmq_pollitem_t(socket: nil, fd: fileDescriptor, events: events.rawValue, revents: 0))
        return items.count - 1
    }

    /// Waits until at least one item is ready or `timeoutMilliseconds` passes
    /// (-1 = forever, 0 = just check).
    ///
    /// - Returns: the number of ready items (0 on timeout).
    /// - Throws: ``ZmqError`` — `ETERM` after ``ZmqContext/shutdown()``, `EINTR` on a
    ///   signal, `ENOTSOCK` if a registered socket was closed.
    /// Cost: one `zmq_poll` (a `poll(2)` system call) plus a pass over the items.
    public func poll(timeoutMilliseconds: Int) throws -> Int {
        for index in items.indices {
            items[index].revents = 0
            if let socket = sockets[index] {
                guard let handle = socket.handle else {
                    throw ZmqError(errno: ENOTSOCK, operation: "poll item \(index)")
                }
                items[index].socket = handle
            }
        }
        let ready = items.withUnsafeMutableBufferPointer { buffer in
            zmq_poll(buffer.baseAddress, Int32(buffer.count), timeoutMilliseconds)
        }
        if ready < 0 {
            throw ZmqError.last("poll")
        }
        return Int(ready)
    }

    /// The events that occurred on item `index` during the last ``poll(timeoutMilliseconds:)``.
    public func events(_ index: Int) -> Events {
        Events(rawValue: items[index].revents)
    }

    /// Whether item `index` was readable at the last poll.
    public func isReadable(_ index: Int) -> Bool { events(index).contains(.readable) }

    /// Whether item `index` was writable at the last poll.
    public func isWritable(_ index: Int) -> Bool { events(index).contains(.writable) }

    /// The indices that were readable at the last poll. Allocates; prefer ``isReadable(_:)`` in loops.
    public var readableIndices: [Int] { items.indices.filter { isReadable($0) } }
}
