import Foundation
import XCTest
import ZeroMQ

final class MultipartMessageTests: XCTestCase {
    private var context: ZmqContext!
    private var sender: ZmqSocket!
    private var receiver: ZmqSocket!

    override func setUpWithError() throws {
        context = try ZmqContext()
        receiver = try ZmqSocket(context: context, kind: .pair)
        try receiver.setReceiveTimeout(2000)
        let endpoint = "inproc://multipart-\(UUID().uuidString)"
        try receiver.bind(endpoint)
        sender = try ZmqSocket(context: context, kind: .pair)
        try sender.connect(endpoint)
    }

    override func tearDown() {
        sender = nil
        receiver = nil
        context = nil
    }

    func testTwoFrameTopicAndPayloadMessageKeepsBothFramesAndBytes() throws {
        let payload: [UInt8] = Array(0..<200).map { UInt8($0) }
        XCTAssertTrue(try sender.send("kpi.latency", more: true))
        XCTAssertTrue(try sender.send(payload))
        let message = ZmqMultipartMessage()
        XCTAssertTrue(try receiver.receive(into: message))
        XCTAssertEqual(message.frameCount, 2)
        XCTAssertEqual(message.string(0), "kpi.latency")
        XCTAssertEqual(message.bytes(1), payload)
        XCTAssertEqual(message.frameSize(1), 200)
        XCTAssertEqual(message.totalBytes, 11 + 200)
        XCTAssertEqual(message.extraFrames, 0)
        XCTAssertFalse(message.wasTruncated)
    }

    func testThreeFrameMessageKeepsAllFramesIncludingAnEmptyOne() throws {
        XCTAssertTrue(try sender.sendMultipart([Array("topic".utf8), [], Array(repeating: 7, count: 5000)]))
        let message = ZmqMultipartMessage()
        XCTAssertTrue(try receiver.receive(into: message))
        XCTAssertEqual(message.frameCount, 3)
        XCTAssertEqual(message.string(0), "topic")
        XCTAssertEqual(message.frame(1).count, 0)
        XCTAssertEqual(message.frame(2).count, 5000)
        XCTAssertTrue(message.frame(2).allSatisfy { $0 == 7 })
        XCTAssertEqual(message.totalBytes, 5005)
    }

    func testFramesBeyondTheMaximumAreDrainedAndCountedAndTheNextMessageIsIntact() throws {
        let frames: [[UInt8]] = (0..<6).map { Array("frame\($0)".utf8) }
        XCTAssertTrue(try sender.sendMultipart(frames))
        XCTAssertTrue(try sender.sendMultipart([Array("next".utf8), Array("intact".utf8)]))

        let message = ZmqMultipartMessage(maxFrames: 3)
        XCTAssertTrue(try receiver.receive(into: message))
        XCTAssertEqual(message.frameCount, 3)
        XCTAssertEqual((0..<3).map { message.string($0) }, ["frame0", "frame1", "frame2"])
        XCTAssertEqual(message.extraFrames, 3)
        XCTAssertEqual(message.extraBytes, 18)
        XCTAssertEqual(message.totalBytes, 18)
        XCTAssertTrue(message.wasTruncated)

        XCTAssertTrue(try receiver.receive(into: message))
        XCTAssertEqual(message.frameCount, 2)
        XCTAssertEqual(message.string(0), "next")
        XCTAssertEqual(message.string(1), "intact")
        XCTAssertEqual(message.extraFrames, 0)
        XCTAssertFalse(try receiver.receive(into: message, dontWait: true))
        XCTAssertTrue(message.isEmpty, "a failed receive leaves the message empty")
    }

    func testReceiveMultipartCopiesEveryFrame() throws {
        let frames: [[UInt8]] = (0..<12).map { [UInt8($0), UInt8($0)] }
        try sender.sendMultipart(frames)
        XCTAssertEqual(try receiver.receiveMultipart(), frames)
        XCTAssertNil(try receiver.receiveMultipart(dontWait: true))
    }

    func testClearReleasesFramesAndEmptiesTheMessage() throws {
        try sender.sendMultipart([[1], [2]])
        let message = ZmqMultipartMessage()
        XCTAssertTrue(try receiver.receive(into: message))
        message.clear()
        XCTAssertTrue(message.isEmpty)
        XCTAssertEqual(message.totalBytes, 0)
        XCTAssertNil(message.property("Socket-Type"))
    }

    func testSendingFromSlicesAndStringsSendsTheirBytes() throws {
        let bytes: [UInt8] = [9, 8, 7, 6, 5]
        try sender.send(bytes[1..<4], more: true)
        try sender.send("héllo", more: true)
        XCTAssertTrue(try bytes.withUnsafeBytes { try sender.send($0) })
        XCTAssertEqual(try receiver.receiveMultipart(), [[8, 7, 6], Array("héllo".utf8), bytes])
    }
}
