import Foundation
import XCTest
import ZeroMQ

final class CurveTests: XCTestCase {
    override func setUpWithError() throws {
        try XCTSkipUnless(ZmqCurve.isAvailable, "libzmq was built without CURVE")
    }

    private func makeCurveServer(_ context: ZmqContext) throws -> (socket: ZmqSocket, endpoint: String, publicKey: String) {
        let keys = try ZmqCurve.generateKeyPair()
        let server = try ZmqSocket(context: context, kind: .pull)
        try server.setCurveServer(true)
        try server.setCurveSecretKey(keys.secretKey)
        XCTAssertTrue(try server.curveServer)
        XCTAssertEqual(try server.mechanism, .curve)
        let endpoint = try server.bindToEphemeralLoopbackPort()
        return (server, endpoint, keys.publicKey)
    }

    func testCurveServerReceivesFromACurveClientThatKnowsTheServerKey() throws {
        let context = try ZmqContext()
        let server = try makeCurveServer(context)
        let clientKeys = try ZmqCurve.generateKeyPair()
        let client = try ZmqSocket(context: context, kind: .push)
        try client.setCurveServerKey(server.publicKey)
        try client.setCurvePublicKey(clientKeys.publicKey)
        try client.setCurveSecretKey(clientKeys.secretKey)
        XCTAssertEqual(try client.curvePublicKey, clientKeys.publicKey)
        try client.connect(server.endpoint)

        try client.send("encrypted hello")
        try server.socket.setReceiveTimeout(3000)
        let message = ZmqMultipartMessage()
        XCTAssertTrue(try server.socket.receive(into: message))
        XCTAssertEqual(message.string(0), "encrypted hello")
    }

    func testCurveClientWithBinaryKeysAlsoConnects() throws {
        let context = try ZmqContext()
        let server = try makeCurveServer(context)
        let clientKeys = try ZmqCurve.generateKeyPair()
        let client = try ZmqSocket(context: context, kind: .push)
        try client.setCurveServerKey(try ZmqCurve.z85Decode(server.publicKey))
        try client.setCurvePublicKey(try ZmqCurve.z85Decode(clientKeys.publicKey))
        try client.setCurveSecretKey(try ZmqCurve.z85Decode(clientKeys.secretKey))
        try client.connect(server.endpoint)
        try client.send("binary keys")
        try server.socket.setReceiveTimeout(3000)
        XCTAssertEqual(try server.socket.receiveMultipart(), [Array("binary keys".utf8)])
    }

    func testPlainClientGetsNothingThroughToACurveServer() throws {
        let context = try ZmqContext()
        let server = try makeCurveServer(context)
        let client = try ZmqSocket(context: context, kind: .push)
        try client.connect(server.endpoint)
        try client.send("plain text")
        try server.socket.setReceiveTimeout(500)
        XCTAssertFalse(try server.socket.receive(into: ZmqMultipartMessage()))
    }

    func testClientWithTheWrongServerKeyGetsNothingThrough() throws {
        let context = try ZmqContext()
        let server = try makeCurveServer(context)
        let impostorKey = try ZmqCurve.generateKeyPair().publicKey
        let clientKeys = try ZmqCurve.generateKeyPair()
        let client = try ZmqSocket(context: context, kind: .push)
        try client.setCurveServerKey(impostorKey)
        try client.setCurvePublicKey(clientKeys.publicKey)
        try client.setCurveSecretKey(clientKeys.secretKey)
        try client.connect(server.endpoint)
        try client.send("wrong key")
        try server.socket.setReceiveTimeout(500)
        XCTAssertFalse(try server.socket.receive(into: ZmqMultipartMessage()))
    }

    func testGeneratedKeysAreFortyCharacterZ85AndThePublicKeyDerivesFromTheSecret() throws {
        let keys = try ZmqCurve.generateKeyPair()
        XCTAssertEqual(keys.publicKey.count, 40)
        XCTAssertEqual(keys.secretKey.count, 40)
        XCTAssertNotEqual(keys.publicKey, keys.secretKey)
        XCTAssertEqual(try ZmqCurve.z85Decode(keys.publicKey).count, 32)
        XCTAssertEqual(try ZmqCurve.publicKey(forSecretKey: keys.secretKey), keys.publicKey)
        XCTAssertNotEqual(try ZmqCurve.generateKeyPair().publicKey, keys.publicKey)
    }
}

final class Z85Tests: XCTestCase {
    func testZ85EncodesTheSpecificationTestVector() throws {
        let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
        XCTAssertEqual(try ZmqCurve.z85Encode(bytes), "HelloWorld")
        XCTAssertEqual(try ZmqCurve.z85Decode("HelloWorld"), bytes)
        XCTAssertEqual(try ZmqCurve.z85Encode([]), "")
        XCTAssertEqual(try ZmqCurve.z85Decode(""), [])
    }

    func testZ85RejectsBadLengthsAndCharacters() {
        XCTAssertThrowsError(try ZmqCurve.z85Encode([1, 2, 3]))
        XCTAssertThrowsError(try ZmqCurve.z85Decode("Hello!"))
        XCTAssertThrowsError(try ZmqCurve.z85Decode("Hel o"))
    }
}
