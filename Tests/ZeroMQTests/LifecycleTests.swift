import Foundation
import XCTest
import ZeroMQ

final class LifecycleTests: XCTestCase {
    func testClosingASocketTwiceIsSafeAndLaterOperationsThrowNotASocket() throws {
        let context = try ZmqContext()
        let socket = try ZmqSocket(context: context, kind: .pull)
        XCTAssertFalse(socket.isClosed)
        socket.close()
        socket.close()
        XCTAssertTrue(socket.isClosed)
        XCTAssertNil(socket.handle)
        XCTAssertThrowsError(try socket.bind("inproc://closed")) { error in
            XCTAssertEqual((error as? ZmqError)?.errno, ENOTSOCK)
            XCTAssertTrue(String(describing: error).contains("bind inproc://closed"))
        }
        XCTAssertThrowsError(try socket.receive(into: ZmqMultipartMessage(), dontWait: true))
        XCTAssertThrowsError(try socket.send("x"))
    }

    func testTerminatingTheContextAfterClosingSocketsWithUndeliveredMessagesDoesNotHang() {
        let finished = finishesWithin(seconds: 5) {
            do {
                let context = try ZmqContext()
                let push = try ZmqSocket(context: context, kind: .push)
                try push.connect("tcp://127.0.0.1:1")  // nobody listens: the message stays queued
                _ = try push.send("never delivered")
                push.close()
                push.close()
                // Last references go away here: zmq_ctx_term runs in ZmqContext.deinit.
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertTrue(finished, "context termination hung")
    }

    func testDroppingSocketsAndContextWithoutClosingDoesNotHang() {
        let finished = finishesWithin(seconds: 5) {
            do {
                let context = try ZmqContext()
                let pull = try ZmqSocket(context: context, kind: .pull)
                let endpoint = try pull.bindToEphemeralLoopbackPort()
                let push = try ZmqSocket(context: context, kind: .push, lingerMilliseconds: 50)
                try push.connect(endpoint)
                for _ in 0..<100 { _ = try push.send("pending") }
            } catch {
                XCTFail("\(error)")
            }
        }
        XCTAssertTrue(finished, "deinit of sockets and context hung")
    }

    func testContextShutdownWakesABlockedReceiveWithATerminatedError() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.bind("inproc://blocked")
        let outcome = Locked<String>("still blocked")
        let started = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            let message = ZmqMultipartMessage()
            started.signal()
            do {
                let received = try pull.receive(into: message)
                outcome.value = "returned \(received)"
            } catch let error as ZmqError {
                outcome.value = error.isTerminated ? "terminated" : "\(error)"
            } catch {
                outcome.value = "\(error)"
            }
            pull.close()
            done.signal()
        }
        thread.start()
        started.wait()
        Thread.sleep(forTimeInterval: 0.05)
        context.shutdown()
        XCTAssertEqual(done.wait(timeout: .now() + 3), .success, "shutdown did not wake the receiver")
        XCTAssertEqual(outcome.value, "terminated")
        XCTAssertThrowsError(try ZmqSocket(context: context, kind: .push)) { error in
            XCTAssertEqual((error as? ZmqError)?.isTerminated, true)
        }
        context.shutdown()  // idempotent
    }

    func testSocketCanBeMovedToAnotherThreadAndUsedThere() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.setReceiveTimeout(2000)
        try pull.bind("inproc://moved")
        let push = try ZmqSocket(context: context, kind: .push)
        try push.connect("inproc://moved")
        let received = Locked<[String]>([])
        let done = DispatchSemaphore(value: 0)
        // The receiving socket moves to a new thread; the sender stays on this one.
        Thread {
            let message = ZmqMultipartMessage()
            while received.value.count < 3, (try? pull.receive(into: message)) == true {
                received.value.append(message.string(0))
            }
            done.signal()
        }.start()
        for text in ["a", "b", "c"] { try push.send(text) }
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(received.value, ["a", "b", "c"])
    }
}
