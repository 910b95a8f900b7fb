import Foundation
import XCTest
import ZeroMQ

final class ReceiveTimeoutTests: XCTestCase {
    func testReceiveWithDontWaitOnAnEmptySocketReturnsFalseAtOnce() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.bind("inproc://empty")
        let message = ZmqMultipartMessage()
        let elapsed = try millisecondsTaken {
            XCTAssertFalse(try pull.receive(into: message, dontWait: true))
        }
        XCTAssertLessThan(elapsed, 100)
        XCTAssertTrue(message.isEmpty)
    }

    func testReceiveReturnsFalseAfterTheReceiveTimeout() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.setReceiveTimeout(150)
        XCTAssertEqual(try pull.receiveTimeout, 150)
        try pull.bind("inproc://timeout")
        let message = ZmqMultipartMessage()
        let elapsed = try millisecondsTaken {
            XCTAssertFalse(try pull.receive(into: message))
        }
        XCTAssertGreaterThanOrEqual(elapsed, 140)
        XCTAssertLessThan(elapsed, 2000)
    }
}
