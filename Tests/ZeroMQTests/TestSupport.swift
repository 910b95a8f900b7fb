import Foundation
import XCTest
import ZeroMQ

/// A value shared between a test and a helper thread, guarded by a lock.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}

/// Runs `body` on a new thread and waits at most `seconds` for it to finish.
/// Returns `false` if it did not finish in time (the thread is then abandoned).
func finishesWithin(seconds: Double, _ body: @escaping @Sendable () -> Void) -> Bool {
    let done = DispatchSemaphore(value: 0)
    let thread = Thread {
        body()
        done.signal()
    }
    thread.start()
    return done.wait(timeout: .now() + seconds) == .success
}

/// Milliseconds elapsed while running `body`.
func millisecondsTaken(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
}

/// A fresh, empty temporary directory with a short path (ipc paths are limited to ~100 bytes).
func makeTemporaryDirectory() throws -> URL {
    let url = URL(fileURLWithPath: "/tmp").appendingPathComponent("zmqt-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

extension ZmqSocket {
    /// Binds to a wildcard TCP port on loopback and returns the resolved endpoint.
    func bindToEphemeralLoopbackPort() throws -> String {
        try bind("tcp://127.0.0.1:*")
        return try lastEndpoint
    }
}
