import Foundation
import XCTest
import ZeroMQ

final class PushPullTests: XCTestCase {
    private func assertDeliversAllMessagesInOrder(bindTo endpoint: String, count: Int = 500,
                                                  file: StaticString = #filePath, line: UInt = #line) throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.setReceiveTimeout(2000)
        try pull.bind(endpoint)
        let resolved = try pull.lastEndpoint
        let push = try ZmqSocket(context: context, kind: .push)
        try push.connect(resolved)

        for index in 0..<count {
            XCTAssertTrue(try push.send("message \(index)"), file: file, line: line)
        }
        let message = ZmqMultipartMessage()
        for index in 0..<count {
            XCTAssertTrue(try pull.receive(into: message), "message \(index) did not arrive", file: file, line: line)
            XCTAssertEqual(message.frameCount, 1, file: file, line: line)
            XCTAssertEqual(message.string(0), "message \(index)", file: file, line: line)
        }
        XCTAssertFalse(try pull.receive(into: message, dontWait: true), "no extra messages", file: file, line: line)
    }

    func testPushPullOverTCPDeliversAllMessagesInOrder() throws {
        try assertDeliversAllMessagesInOrder(bindTo: "tcp://127.0.0.1:*")
    }

    func testPushPullOverIPCInAFreshDirectoryDeliversAllMessagesInOrder() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try assertDeliversAllMessagesInOrder(bindTo: "ipc://\(directory.path)/kpid.sock")
    }

    func testWildcardTCPBindReportsTheResolvedPortInLastEndpoint() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        let endpoint = try pull.bindToEphemeralLoopbackPort()
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
        let port = Int(endpoint.split(separator: ":").last ?? "")
        XCTAssertNotNil(port)
        XCTAssertGreaterThan(port ?? 0, 0)
    }

    func testUnbindReleasesTheEndpointAndUnbindingAgainThrowsNamingIt() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        let endpoint = try pull.bindToEphemeralLoopbackPort()
        try pull.unbind(endpoint)
        XCTAssertThrowsError(try pull.unbind(endpoint)) { error in
            XCTAssertTrue(String(describing: error).contains(endpoint), "\(error)")
        }
        // The port is free again, once libzmq's I/O thread has closed the listener.
        let other = try ZmqSocket(context: context, kind: .pull)
        let deadline = ContinuousClock.now + .seconds(2)
        while true {
            do {
                try other.bind(endpoint)
                break
            } catch let error as ZmqError where error.errno == EADDRINUSE && ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.01)
            }
        }
    }

    func testDisconnectStopsDeliveryToThatEndpoint() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        let endpoint = try pull.bindToEphemeralLoopbackPort()
        let push = try ZmqSocket(context: context, kind: .push)
        try push.connect(endpoint)
        try push.disconnect(endpoint)
        XCTAssertThrowsError(try push.disconnect(endpoint))
        XCTAssertFalse(try push.send("nowhere", dontWait: true), "no peer left to queue to")
    }

    func testSendWithDontWaitReturnsFalseWhenThereIsNoPeer() throws {
        let context = try ZmqContext()
        let push = try ZmqSocket(context: context, kind: .push)
        XCTAssertFalse(try push.send([1, 2, 3] as [UInt8], dontWait: true))
    }

    func testSendTimeoutReturnsFalseWhenThereIsNoPeer() throws {
        let context = try ZmqContext()
        let push = try ZmqSocket(context: context, kind: .push)
        try push.setSendTimeout(50)
        let elapsed = try millisecondsTaken {
            XCTAssertFalse(try push.send("stuck"))
        }
        XCTAssertGreaterThanOrEqual(elapsed, 40)
        XCTAssertLessThan(elapsed, 2000)
    }

    func testReusedMessageReceivesManyMessagesOfChangingSizes() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.setReceiveTimeout(2000)
        try pull.bind("inproc://reuse")
        let push = try ZmqSocket(context: context, kind: .push)
        try push.connect("inproc://reuse")
        let message = ZmqMultipartMessage(maxFrames: 2)
        for index in 0..<300 {
            let size = (index * 37) % 2000  // crosses the 33-byte inline ("very small message") limit
            let payload = [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: size)
            try push.send(payload)
            XCTAssertTrue(try pull.receive(into: message))
            XCTAssertEqual(message.totalBytes, size)
            XCTAssertEqual(message.withFrame(0) { Array($0) }, payload)
        }
    }
}
