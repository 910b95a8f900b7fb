import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A reusable receive buffer for multipart messages: owns up to ``maxFrames``
/// `zmq_msg_t` frames in storage allocated once at init.
///
/// Receiving into it (``ZmqSocket/receive(into:dontWait:)``) performs **no Swift
/// allocation per message**: libzmq hands over its frames and the bytes are read in
/// place through ``frame(_:)`` / ``withFrame(_:_:)``. Frames beyond ``maxFrames``
/// are received into a scratch frame, released at once and counted in
/// ``extraFrames``. Every `zmq_msg_t` is closed on every path: before each reuse,
/// by ``clear()``, and in `deinit`.
///
/// Frame buffers are valid until the next receive into, ``clear()`` of, or
/// deinitialisation of this message — do not keep the pointers longer.
///
/// Thread safety: like a socket, a message belongs to one thread at a time; it is
/// `@unchecked Sendable` so it can be moved along with its socket, never shared.
public final class ZmqMultipartMessage: @unchecked Sendable {
    /// How many frames are kept; further frames are drained and counted.
    public let maxFrames: Int
    /// Frame storage: `maxFrames` kept frames followed by one scratch frame,
    /// all initialised (`zmq_msg_init`) for the whole lifetime of the object.
    let storage: UnsafeMutablePointer<zmq_msg_t>
    /// Frames currently holding data (kept frames of the last receive).
    public internal(set) var frameCount: Int = 0
    /// Frames of the last message that were beyond ``maxFrames`` and were dropped.
    public internal(set) var extraFrames: Int = 0
    /// Bytes in the dropped ``extraFrames``.
    public internal(set) var extraBytes: Int = 0
    /// Total bytes over the kept frames (not counting ``extraBytes``).
    public internal(set) var totalBytes: Int = 0

    /// Creates an empty message able to keep `maxFrames` frames (default 8, at least 1).
    /// Cost: one allocation of `(maxFrames + 1) * 64` bytes, done once.
    public init(maxFrames: Int = 8) {
        precondition(maxFrames >= 1, "ZmqMultipartMessage needs at least one frame")
        self.maxFrames = maxFrames
        storage = .allocate(capacity: maxFrames + 1)
        for index in 0...maxFrames {
            _ = zmq_msg_init(storage + index)
        }
    }

    deinit {
        for index in 0...maxFrames {
            _ = zmq_msg_close(storage + index)
        }
        storage.deallocate()
    }

    /// `true` when the last receive got nothing or ``clear()`` was called.
    public var isEmpty: Bool { frameCount == 0 }

    /// `true` when the last message had more frames than ``maxFrames``.
    public var wasTruncated: Bool { extraFrames > 0 }

    /// Releases the frames of the last message back to libzmq and empties the message.
    /// Cost: two cheap C calls per previously used frame.
    public func clear() {
        for index in 0..<frameCount {
            release(storage + index)
        }
        frameCount = 0
        extraFrames = 0
        extraBytes = 0
        totalBytes = 0
    }

    /// The bytes of frame `index` (`0..<frameCount`), valid until the next receive,
    /// ``clear()`` or deinit. No copy.
    public func frame(_ index: Int) -> UnsafeRawBufferPointer {
        precondition(index >= 0 && index < frameCount, "frame index \(index) out of range 0..<\(frameCount)")
        let message = storage + index
        return UnsafeRawBufferPointer(start: zmq_msg_data(message), count: zmq_msg_size(message))
    }

    /// The bytes of frame `index`, or an empty buffer when the message has fewer frames. No copy.
    public func frameOrEmpty(_ index: Int) -> UnsafeRawBufferPointer {
        index < frameCount ? frame(index) : UnsafeRawBufferPointer(start: nil, count: 0)
    }

    /// Calls `body` with the bytes of frame `index`; the buffer must not escape `body`. No copy.
    public func withFrame<R, E: Error>(_ index: Int, _ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(frame(index))
    }

    /// The size in bytes of frame `index`.
    public func frameSize(_ index: Int) -> Int {
        precondition(index >= 0 && index < frameCount, "frame index \(index) out of range 0..<\(frameCount)")
        return zmq_msg_size(storage + index)
    }

    /// A copy of frame `index` as an array. Allocates; meant for tests and cold paths.
    public func bytes(_ index: Int) -> [UInt8] {
        Array(frame(index))
    }

    /// Frame `index` decoded as UTF-8 (invalid sequences repaired). Allocates.
    public func string(_ index: Int) -> String {
        String(decoding: frame(index), as: UTF8.self)
    }

    /// A metadata property of the last message (`zmq_msg_gets` on the first frame),
    /// e.g. `"User-Id"` (set by a ZAP handler for CURVE clients), `"Peer-Address"`
    /// (TCP), `"Socket-Type"`, `"Routing-Id"`. `nil` when absent or when empty.
    /// Cost: a lookup in libzmq plus a `String` allocation.
    public func property(_ name: String) -> String? {
        guard frameCount > 0, let value = zmq_msg_gets(storage, name) else { return nil }
        return String(cString: value)
    }

    /// ``property(_:)`` without allocating: the value's UTF-8 bytes (no NUL), valid until the next
    /// receive into, ``clear()`` of or deinit of this message; `nil` when absent or empty.
    public func propertyBytes(_ name: StaticString) -> UnsafeRawBufferPointer? {
        guard frameCount > 0 else { return nil }
        let value = name.withUTF8Buffer { n in
            n.baseAddress!.withMemoryRebound(to: CChar.self, capacity: n.count + 1) { zmq_msg_gets(storage, $0) }
        }
        guard let value else { return nil }
        let length = strlen(value)
        return length == 0 ? nil : UnsafeRawBufferPointer(start: value, count: length)
    }

    /// Releases one frame's content and re-initialises it as empty.
    @inline(__always)
    func release(_ message: UnsafeMutablePointer<zmq_msg_t>) {
        _ = zmq_msg_close(message)
        _ = zmq_msg_init(message)
    }

    /// The scratch frame used to drain frames beyond `maxFrames`.
    var scratch: UnsafeMutablePointer<zmq_msg_t> { storage + maxFrames }
}
