import Foundation
import XCTest
import ZeroMQ

final class SocketOptionTests: XCTestCase {
    func testMessageLargerThanMaxMessageSizeIsNotDeliveredButASmallOneOnANewConnectionIs() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.setMaxMessageSize(1000)
        XCTAssertEqual(try pull.maxMessageSize, 1000)
        let endpoint = try pull.bindToEphemeralLoopbackPort()

        let oversized = try ZmqSocket(context: context, kind: .push)
        try oversized.connect(endpoint)
        try oversized.send([UInt8](repeating: 1, count: 2000))
        let message = ZmqMultipartMessage()
        try pull.setReceiveTimeout(300)
        XCTAssertFalse(try pull.receive(into: message), "an oversized message must not be delivered")
        oversized.close()

        let small = try ZmqSocket(context: context, kind: .push)
        try small.connect(endpoint)
        try small.send([UInt8](repeating: 2, count: 1000))
        try pull.setReceiveTimeout(2000)
        XCTAssertTrue(try pull.receive(into: message))
        XCTAssertEqual(message.totalBytes, 1000)
        XCTAssertEqual(message.frame(0).first, 2)
    }

    func testIntegerOptionsReadBackWhatWasSet() throws {
        let context = try ZmqContext()
        let socket = try ZmqSocket(context: context, kind: .dealer)
        try socket.setReceiveHighWaterMark(12_345)
        try socket.setSendHighWaterMark(54_321)
        try socket.setLinger(250)
        try socket.setSendTimeout(75)
        try socket.setMaxMessageSize(1 << 40)
        try socket.setImmediate(true)
        try socket.setReconnectInterval(500)
        try socket.setIPv6(true)
        XCTAssertEqual(try socket.receiveHighWaterMark, 12_345)
        XCTAssertEqual(try socket.sendHighWaterMark, 54_321)
        XCTAssertEqual(try socket.linger, 250)
        XCTAssertEqual(try socket.sendTimeout, 75)
        XCTAssertEqual(try socket.maxMessageSize, 1 << 40)
        XCTAssertEqual(try socket.getInt32Option(39 /* ZMQ_IMMEDIATE */), 1)
        XCTAssertEqual(try socket.getInt32Option(18 /* ZMQ_RECONNECT_IVL */), 500)
    }

    func testNewSocketsHaveZeroLingerUnlessConfigured() throws {
        let context = try ZmqContext()
        XCTAssertEqual(try ZmqSocket(context: context, kind: .push).linger, 0)
        XCTAssertEqual(try ZmqSocket(context: context, kind: .push, lingerMilliseconds: 100).linger, 100)
    }

    func testStringAndBytesOptionsRoundTrip() throws {
        let context = try ZmqContext()
        let socket = try ZmqSocket(context: context, kind: .router)
        try socket.setZapDomain("kpid")
        XCTAssertEqual(try socket.zapDomain, "kpid")
        try socket.setOption(5 /* ZMQ_ROUTING_ID */, bytes: [1, 2, 3])
        XCTAssertEqual(try socket.getBytesOption(5), [1, 2, 3])
    }

    func testMessagePropertiesExposePeerMetadata() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.setReceiveTimeout(2000)
        let endpoint = try pull.bindToEphemeralLoopbackPort()
        let push = try ZmqSocket(context: context, kind: .push)
        try push.connect(endpoint)
        try push.send("who am I")
        let message = ZmqMultipartMessage()
        XCTAssertTrue(try pull.receive(into: message))
        XCTAssertEqual(message.property("Socket-Type"), "PUSH")
        XCTAssertEqual(message.property("Peer-Address"), "127.0.0.1")
        XCTAssertNil(message.property("User-Id"), "no ZAP handler, no user id")
        XCTAssertNil(message.property("No-Such-Property"))
    }
}
