import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Receiving (zmq_msg_recv): the hot path. Receiving into a reused
// ZmqMultipartMessage allocates nothing in Swift.

extension ZmqSocket {
    /// Receives one whole multipart message into `message`, replacing (and releasing)
    /// its previous content. Frames past `message.maxFrames` are drained, released and
    /// counted in ``ZmqMultipartMessage/extraFrames``.
    ///
    /// - Parameter dontWait: return at once if nothing is queued (`ZMQ_DONTWAIT`).
    /// - Returns: `true` with the message filled in; `false` (message empty) if nothing
    ///   was available with `dontWait`, or ``receiveTimeout`` expired.
    /// - Throws: ``ZmqError`` for other failures — `ETERM` after
    ///   ``ZmqContext/shutdown()``, `EINTR` on a signal, `EFSM` on REQ/REP misuse.
    ///   The message is left empty.
    /// Cost: one `zmq_msg_recv` per frame plus two cheap calls per frame to release the
    /// previous content; no Swift allocation.
    public func receive(into message: ZmqMultipartMessage, dontWait: Bool = false) throws -> Bool {
        let socket = try requireOpen("receive")
        message.clear()

        let first = message.storage
        if zmq_msg_recv(first, socket, dontWait ? ZMQ_DONTWAIT : 0) < 0 {
            // Check errno before building an error: EAGAIN is the common, allocation-free path.
            let code = zmq_errno()
            if code == EAGAIN { return false }
            throw ZmqError(errno: code, operation: "receive")
        }
        var kept = 1
        var bytes = zmq_msg_size(first)
        var extra = 0
        var extraBytes = 0
        var more = zmq_msg_more(first) != 0

        // The remaining frames of a multipart message arrive atomically with the first,
        // so these calls do not wait for the network.
        while more {
            let target = kept < message.maxFrames ? message.storage + kept : message.scratch
            if zmq_msg_recv(target, socket, 0) < 0 {
                let error = ZmqError.last("receive frame \(kept + extra)")
                message.release(target)
                message.frameCount = kept
                message.clear()
                throw error
            }
            more = zmq_msg_more(target) != 0
            if target == message.scratch {
                extra += 1
                extraBytes += zmq_msg_size(target)
                message.release(target)
            } else {
                kept += 1
                bytes += zmq_msg_size(target)
            }
        }

        message.frameCount = kept
        message.totalBytes = bytes
        message.extraFrames = extra
        message.extraBytes = extraBytes
        return true
    }

    /// Receives one multipart message and returns copies of all its frames, or `nil`
    /// under the same conditions where ``receive(into:dontWait:)`` returns `false`.
    /// Allocates one array per frame; for tests, tools and cold paths only.
    public func receiveMultipart(dontWait: Bool = false) throws -> [[UInt8]]? {
        let socket = try requireOpen("receive")
        var frames: [[UInt8]] = []
        // A zmq_msg_t must stay at one address while in use: keep it in the heap.
        let message = UnsafeMutablePointer<zmq_msg_t>.allocate(capacity: 1)
        _ = zmq_msg_init(message)
        defer {
            _ = zmq_msg_close(message)
            message.deallocate()
        }
        repeat {
            if zmq_msg_recv(message, socket, frames.isEmpty && dontWait ? ZMQ_DONTWAIT : 0) < 0 {
                let error = ZmqError.last("receive")
                if error.isAgain && frames.isEmpty { return nil }
                throw error
            }
            frames.append(Array(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message))))
        } while zmq_msg_more(message) != 0
        return frames
    }
}
