import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An error reported by libzmq: the `errno` value of a failed call, its
/// `zmq_strerror` text, and the operation that failed (for example
/// `"bind tcp://127.0.0.1:5555"`).
///
/// Errors are built right after the failing call from `zmq_errno()`.
/// Cost: building one formats two strings; it only happens on the error path.
public struct ZmqError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The `errno` value reported by libzmq (POSIX values, or libzmq's own such as `ETERM`).
    public let errno: Int32
    /// The human readable text of `errno`, from `zmq_strerror`.
    public let message: String
    /// What was being done when the call failed, for example `"connect ipc:///tmp/x"`.
    public let operation: String

    /// Creates an error for an explicit `errno` value; the message comes from `zmq_strerror`.
    /// Cost: one C-string to `String` conversion.
    public init(errno: Int32, operation: String) {
        self.errno = errno
        self.message = String(cString: zmq_strerror(errno))
        self.operation = operation
    }

    /// Captures `zmq_errno()` first, and only then evaluates `operation`, so that
    /// building the operation text cannot clobber the error number.
    /// Call it immediately after the libzmq call that failed.
    public static func last(_ operation: @autoclosure () -> String) -> ZmqError {
        let code = zmq_errno()
        return ZmqError(errno: code, operation: operation())
    }

    /// `true` for `EAGAIN`: a non-blocking call would have blocked, or a send/receive timeout expired.
    public var isAgain: Bool { errno == EAGAIN }

    /// `true` for `EINTR`: a blocking call was interrupted by a signal; it is usually safe to retry.
    public var isInterrupted: Bool { errno == EINTR }

    /// `true` for `ETERM`: the context was shut down or terminated; the socket should be closed.
    public var isTerminated: Bool { errno == ETERM }

    /// `"<operation>: <zmq_strerror text> (errno <n>)"`.
    public var description: String { "\(operation): \(message) (errno \(errno))" }
}
