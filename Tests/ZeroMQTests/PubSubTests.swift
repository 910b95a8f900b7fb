import Foundation
import XCTest
import ZeroMQ

final class PubSubTests: XCTestCase {
    func testSubscriberReceivesOnlyTopicsMatchingItsPrefixes() throws {
        let context = try ZmqContext()
        let publisher = try ZmqSocket(context: context, kind: .pub)
        let endpoint = try publisher.bindToEphemeralLoopbackPort()
        let subscriber = try ZmqSocket(context: context, kind: .sub)
        // Subscriptions travel in order: once "kpi.a" is active, "kpi.b" is too.
        try subscriber.subscribe("kpi.b")
        try subscriber.subscribe(Array("kpi.a".utf8))
        try subscriber.subscribe("unwanted")
        try subscriber.unsubscribe("unwanted")
        try subscriber.connect(endpoint)

        // Slow joiner: publish a warm-up topic until one arrives, bounded in time.
        let message = ZmqMultipartMessage()
        try subscriber.setReceiveTimeout(20)
        let deadline = ContinuousClock.now + .seconds(3)
        var joined = false
        while !joined && ContinuousClock.now < deadline {
            try publisher.send("kpi.a.warmup")
            joined = try subscriber.receive(into: message)
        }
        XCTAssertTrue(joined, "subscription did not reach the publisher within 3 s")
        // Drain the remaining warm-up messages.
        while try subscriber.receive(into: message, dontWait: true) {}

        let topics = ["other.1", "kpi.a.1", "kpiX.2", "kpi.b.3", "unwanted.4", "kpi.a.5", "kpi", "kpi.a.end"]
        for topic in topics {
            try publisher.sendMultipart([Array(topic.utf8), Array("payload of \(topic)".utf8)])
        }
        try subscriber.setReceiveTimeout(2000)
        var received: [String] = []
        while received.last != "kpi.a.end", try subscriber.receive(into: message) {
            XCTAssertEqual(message.frameCount, 2)
            XCTAssertEqual(message.string(1), "payload of \(message.string(0))")
            received.append(message.string(0))
        }
        XCTAssertEqual(received, ["kpi.a.1", "kpi.b.3", "kpi.a.5", "kpi.a.end"])
    }

    func testSubscriberWithoutSubscriptionsReceivesNothing() throws {
        let context = try ZmqContext()
        let publisher = try ZmqSocket(context: context, kind: .pub)
        try publisher.bind("inproc://nosub")
        let subscriber = try ZmqSocket(context: context, kind: .sub)
        try subscriber.connect("inproc://nosub")
        try subscriber.setReceiveTimeout(100)
        for _ in 0..<10 { try publisher.send("anything") }
        XCTAssertFalse(try subscriber.receive(into: ZmqMultipartMessage()))
    }
}
