import Foundation
import XCTest
import ZeroMQ

final class PollerTests: XCTestCase {
    func testPollerReportsReadableOnlyForTheSocketThatHasData() throws {
        let context = try ZmqContext()
        let quiet = try ZmqSocket(context: context, kind: .pull)
        try quiet.bind("inproc://quiet")
        let busy = try ZmqSocket(context: context, kind: .pull)
        try busy.bind("inproc://busy")
        let push = try ZmqSocket(context: context, kind: .push)
        try push.connect("inproc://busy")

        let poller = ZmqPoller()
        let quietIndex = poller.add(quiet)
        let busyIndex = poller.add(busy)
        XCTAssertEqual(poller.count, 2)

        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), 0, "nothing sent yet")
        try push.send("hello")
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 2000), 1)
        XCTAssertTrue(poller.isReadable(busyIndex))
        XCTAssertFalse(poller.isReadable(quietIndex))
        XCTAssertEqual(poller.readableIndices, [busyIndex])

        let message = ZmqMultipartMessage()
        XCTAssertTrue(try busy.receive(into: message, dontWait: true))
        XCTAssertEqual(message.string(0), "hello")
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), 0, "drained")
        XCTAssertFalse(poller.isReadable(busyIndex))
    }

    func testPollerTimesOutWhenNothingIsReadable() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.bind("inproc://idle")
        let poller = ZmqPoller()
        poller.add(pull)
        let elapsed = try millisecondsTaken {
            XCTAssertEqual(try poller.poll(timeoutMilliseconds: 100), 0)
        }
        XCTAssertGreaterThanOrEqual(elapsed, 90)
        XCTAssertLessThan(elapsed, 2000)
    }

    func testPollerReportsWritableForAConnectedPush() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        try pull.bind("inproc://writable")
        let push = try ZmqSocket(context: context, kind: .push)
        try push.connect("inproc://writable")
        let poller = ZmqPoller()
        let index = poller.add(push, events: [.writable])
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 1000), 1)
        XCTAssertTrue(poller.isWritable(index))
        XCTAssertFalse(poller.isReadable(index))
    }

    func testPollingASocketThatWasClosedThrowsInsteadOfPollingAnotherDescriptor() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        let poller = ZmqPoller()
        poller.add(pull)
        pull.close()
        XCTAssertThrowsError(try poller.poll(timeoutMilliseconds: 0)) { error in
            XCTAssertEqual((error as? ZmqError)?.errno, ENOTSOCK)
        }
    }

    func testPollerWatchesPlainFileDescriptors() throws {
        var fds: [Int32] = [0, 0]
        XCTAssertEqual(pipe(&fds), 0)
        defer { close(fds[0]); close(fds[1]) }
        let poller = ZmqPoller()
        let index = poller.add(fileDescriptor: fds[0])
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 0), 0)
        var byte: UInt8 = 1
        XCTAssertEqual(write(fds[1], &byte, 1), 1)
        XCTAssertEqual(try poller.poll(timeoutMilliseconds: 1000), 1)
        XCTAssertTrue(poller.isReadable(index))
    }
}
