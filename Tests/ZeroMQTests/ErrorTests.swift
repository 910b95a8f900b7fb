import Foundation
import XCTest
import ZeroMQ

final class ErrorTests: XCTestCase {
    func testBindToAnUnknownTransportThrowsErrorNamingEndpointAndReason() throws {
        let context = try ZmqContext()
        let socket = try ZmqSocket(context: context, kind: .pull)
        XCTAssertThrowsError(try socket.bind("bogus://x")) { error in
            guard let error = error as? ZmqError else { return XCTFail("not a ZmqError: \(error)") }
            XCTAssertEqual(error.errno, EPROTONOSUPPORT)
            XCTAssertEqual(error.message, "Protocol not supported")
            XCTAssertEqual(error.operation, "bind bogus://x")
            XCTAssertTrue(error.description.contains("bogus://x"), error.description)
            XCTAssertTrue(error.description.contains("Protocol not supported"), error.description)
        }
    }

    func testBindToAnInvalidAddressThrowsErrorNamingEndpointAndReason() throws {
        let context = try ZmqContext()
        let socket = try ZmqSocket(context: context, kind: .pull)
        XCTAssertThrowsError(try socket.bind("tcp://256.0.0.1:1")) { error in
            guard let error = error as? ZmqError else { return XCTFail("not a ZmqError: \(error)") }
            XCTAssertFalse(error.message.isEmpty)
            XCTAssertEqual(error.message, String(cString: strerror(error.errno)), "zmq_strerror matches strerror for system errors")
            XCTAssertTrue(error.description.contains("tcp://256.0.0.1:1"), error.description)
            XCTAssertTrue(error.description.contains(error.message), error.description)
        }
    }

    func testBindToAnEndpointInUseThrowsAddressInUse() throws {
        let context = try ZmqContext()
        let first = try ZmqSocket(context: context, kind: .pull)
        let endpoint = try first.bindToEphemeralLoopbackPort()
        let second = try ZmqSocket(context: context, kind: .pull)
        XCTAssertThrowsError(try second.bind(endpoint)) { error in
            XCTAssertEqual((error as? ZmqError)?.errno, EADDRINUSE)
        }
    }

    func testConnectToAMalformedEndpointThrows() throws {
        let context = try ZmqContext()
        let socket = try ZmqSocket(context: context, kind: .push)
        XCTAssertThrowsError(try socket.connect("tcp://no-port-here")) { error in
            XCTAssertTrue(String(describing: error).contains("connect tcp://no-port-here"), "\(error)")
        }
    }

    func testErrorFlagsClassifyAgainInterruptedAndTerminated() {
        XCTAssertTrue(ZmqError(errno: EAGAIN, operation: "x").isAgain)
        XCTAssertTrue(ZmqError(errno: EINTR, operation: "x").isInterrupted)
        let terminated = ZmqError(errno: 156_384_712 + 53, operation: "receive")  // ETERM
        XCTAssertTrue(terminated.isTerminated)
        XCTAssertEqual(terminated.message, "Context was terminated")
        XCTAssertFalse(terminated.isAgain)
    }

    func testSettingAnInvalidOptionThrows() throws {
        let context = try ZmqContext()
        let socket = try ZmqSocket(context: context, kind: .pull)
        XCTAssertThrowsError(try socket.setOption(9999, int32: 1)) { error in
            XCTAssertEqual((error as? ZmqError)?.errno, EINVAL)
        }
        XCTAssertThrowsError(try socket.setCurveSecretKey("too short"))
        XCTAssertThrowsError(try socket.setCurveServerKey([1, 2, 3]))
    }
}
