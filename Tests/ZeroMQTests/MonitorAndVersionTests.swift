import Foundation
import XCTest
import ZeroMQ

final class MonitorTests: XCTestCase {
    private func collectEvents(_ monitor: ZmqMonitor, until stop: (ZmqMonitorEvent) -> Bool) throws -> [ZmqMonitorEvent] {
        try monitor.socket.setReceiveTimeout(100)
        var events: [ZmqMonitorEvent] = []
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline {
            guard let event = try monitor.next() else { continue }
            events.append(event)
            if stop(event) { break }
        }
        return events
    }

    func testMonitorReportsListeningAcceptedAndHandshakeSucceeded() throws {
        let context = try ZmqContext()
        let pull = try ZmqSocket(context: context, kind: .pull)
        let monitor = try ZmqMonitor(pull)
        let endpoint = try pull.bindToEphemeralLoopbackPort()
        let push = try ZmqSocket(context: context, kind: .push)
        try push.connect(endpoint)
        let events = try collectEvents(monitor) { $0.kind == .handshakeSucceeded }
        let kinds = events.map(\.kind)
        XCTAssertTrue(kinds.contains(.listening), "\(events)")
        XCTAssertTrue(kinds.contains(.accepted), "\(events)")
        XCTAssertEqual(kinds.last, .handshakeSucceeded, "\(events)")
        XCTAssertTrue(events.allSatisfy { $0.endpoint.hasPrefix("tcp://127.0.0.1:") }, "\(events)")
        monitor.stop()
        monitor.stop()
    }

    func testMonitorReportsAProtocolHandshakeFailureForAPlainClientOfACurveServer() throws {
        try XCTSkipUnless(ZmqCurve.isAvailable)
        let context = try ZmqContext()
        let server = try ZmqSocket(context: context, kind: .pull)
        try server.setCurveServer(true)
        try server.setCurveSecretKey(try ZmqCurve.generateKeyPair().secretKey)
        let monitor = try ZmqMonitor(server)
        let endpoint = try server.bindToEphemeralLoopbackPort()
        let client = try ZmqSocket(context: context, kind: .push)
        try client.connect(endpoint)
        let events = try collectEvents(monitor) {
            if case .handshakeFailedProtocol = $0.kind { return true }
            return false
        }
        guard case .handshakeFailedProtocol(let code)? = events.last?.kind else {
            return XCTFail("no protocol failure in \(events)")
        }
        XCTAssertEqual(code, 0x1100_0002, "ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH")
    }

    func testMonitorEventDecodingMapsKnownAndUnknownIds() {
        XCTAssertEqual(ZmqMonitorEvent(id: 0x0020, value: 12, endpoint: "e").kind, .accepted)
        XCTAssertEqual(ZmqMonitorEvent(id: 0x4000, value: 400, endpoint: "e").kind, .handshakeFailedAuth(code: 400))
        XCTAssertEqual(ZmqMonitorEvent(id: 0x0004, value: 200, endpoint: "e").kind, .connectRetried(intervalMilliseconds: 200))
        XCTAssertEqual(ZmqMonitorEvent(id: 0x8000, value: 1, endpoint: "e").kind, .other(id: 0x8000, value: 1))
    }
}

final class VersionTests: XCTestCase {
    func testLibraryVersionIsAtLeastTheCompiledHeaderMajorVersion() {
        let version = ZmqVersion.current
        XCTAssertEqual(version.major, 4)
        XCTAssertGreaterThanOrEqual(version, ZmqVersion(major: 4, minor: 3, patch: 0))
        XCTAssertEqual(version.major, ZmqVersion.compiledAgainst.major)
        XCTAssertEqual(version.description, "\(version.major).\(version.minor).\(version.patch)")
        XCTAssertTrue(ZmqVersion.hasCapability("ipc"))
    }
}
