import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// Sending (zmq_send). libzmq copies the bytes into its own message, so the caller's
// buffer may be reused as soon as a send returns. No Swift allocation happens for
// contiguous inputs ([UInt8], ArraySlice, ContiguousArray, native String, buffers).

extension ZmqSocket {
    /// Sends one frame from raw memory (`zmq_send`).
    ///
    /// - Parameters:
    ///   - more: `true` if more frames of the same message follow (`ZMQ_SNDMORE`).
    ///   - dontWait: fail fast instead of blocking at the high-water mark (`ZMQ_DONTWAIT`).
    /// - Returns: `true` if queued; `false` on `EAGAIN` (with `dontWait`, or after ``sendTimeout``).
    /// - Throws: ``ZmqError`` for other failures (`ETERM`, `EINTR`, `EFSM` on REQ/REP misuse, …).
    /// Cost: one C call and one copy of the bytes into libzmq.
    @discardableResult
    public func send(_ buffer: UnsafeRawBufferPointer, more: Bool = false, dontWait: Bool = false) throws -> Bool {
        let socket = try requireOpen("send")
        var flags: Int32 = 0
        if more { flags |= ZMQ_SNDMORE }
        if dontWait { flags |= ZMQ_DONTWAIT }
        if zmq_send(socket, buffer.baseAddress, buffer.count, flags) < 0 {
            // Check errno before building an error: EAGAIN must not allocate.
            let code = zmq_errno()
            if code == EAGAIN { return false }
            throw ZmqError(errno: code, operation: "send")
        }
        return true
    }

    /// Sends one frame from any collection of bytes. Contiguous collections are sent
    /// without copying in Swift; others are first gathered into a temporary array.
    /// Same results and errors as the raw-buffer form.
    @discardableResult
    public func send(_ bytes: some Collection<UInt8>, more: Bool = false, dontWait: Bool = false) throws -> Bool {
        if let result = try bytes.withContiguousStorageIfAvailable({ buffer in
            try send(UnsafeRawBufferPointer(buffer), more: more, dontWait: dontWait)
        }) {
            return result
        }
        return try Array(bytes).withUnsafeBytes { try send($0, more: more, dontWait: dontWait) }
    }

    /// Sends one frame holding the UTF-8 bytes of `string` (no trailing NUL).
    /// Same results and errors as the raw-buffer form.
    @discardableResult
    public func send(_ string: String, more: Bool = false, dontWait: Bool = false) throws -> Bool {
        try send(string.utf8, more: more, dontWait: dontWait)
    }

    /// Sends `frames` as one multipart message (all frames but the last get `ZMQ_SNDMORE`).
    /// An empty array sends nothing and returns `true`.
    ///
    /// - Returns: `false` if the first frame hit `EAGAIN` (nothing was sent). Once the
    ///   first frame is accepted libzmq accepts the rest of the message.
    /// Cost: one C call and one copy per frame.
    @discardableResult
    public func sendMultipart(_ frames: [[UInt8]], dontWait: Bool = false) throws -> Bool {
        for (index, frame) in frames.enumerated() {
            let more = index < frames.count - 1
            let sent = try frame.withUnsafeBytes { try send($0, more: more, dontWait: dontWait) }
            if !sent {
                if index == 0 { return false }
                // A later frame of an accepted message was refused: libzmq guarantees this
                // cannot happen for the atomic multipart patterns, but report it loudly.
                throw ZmqError(errno: EAGAIN, operation: "send frame \(index) of \(frames.count)")
            }
        }
        return true
    }
}
