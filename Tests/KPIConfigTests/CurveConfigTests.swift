import Foundation
import KPIConfig
import KPICore
import XCTest

/// CURVE key files and [[publishers]] in kpid.toml, against real files in a temporary directory.
final class CurveConfigTests: XCTestCase {
    private var dir: URL!
    // Valid Z85 keys (from the ZeroMQ reference test vectors).
    private let serverSecret = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
    private let serverPublic = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    private let clientPublic = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
    private let otherPublic = "HH39dA]6ckQ@AD{L-H}QWi9Jcj<vDJ*qPu#=#2s."

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpid-curve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("keys/clients"), withIntermediateDirectories: true)
        try write("keys/server.key_secret", serverSecret, mode: 0o600)
        try write("keys/server.key", serverPublic, mode: 0o644)
        try write("keys/clients/scraper.key", clientPublic, mode: 0o644)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    private func write(_ path: String, _ text: String, mode: Int) throws {
        let url = dir.appendingPathComponent(path)
        try Data((text + "\n").utf8).write(to: url)
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: url.path)
    }

    private func toml(_ publishers: String = "", kpid: String = "") -> String {
        """
        [kpid]
        \(kpid)
        [[sources]]
        name = "secure"
        kind = "pull"
        bind = ["tcp://127.0.0.1:5556"]
        curve_secret_key = "keys/server.key_secret"
        curve_public_key = "keys/server.key"
        curve_clients = "keys/clients"
        [[metrics]]
        name = "clicks"
        events = ["click"]
        aggregate = "count"
        windows = ["day"]
        \(publishers)
        """
    }

    private func load(_ text: String) throws -> KpidConfig {
        let file = dir.appendingPathComponent("kpid.toml")
        try text.write(to: file, atomically: true, encoding: .utf8)
        return try ConfigLoader.load(contentsOf: file.path)
    }

    private func loadError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do {
            _ = try load(text)
            XCTFail("loaded", file: file, line: line)
        } catch let e as ConfigError {
            return e
        } catch {
            XCTFail("\(error)", file: file, line: line)
        }
        return nil
    }

    func testKeysAreReadRelativeToTheConfigFileWithClientsNamedByFile() throws {
        let config = try load(toml())
        let curve = try XCTUnwrap(config.sources[0].curve)
        XCTAssertEqual(curve.secretKey, serverSecret)
        XCTAssertEqual(curve.publicKey, serverPublic)
        XCTAssertEqual(curve.secretKeyFile, dir.appendingPathComponent("keys/server.key_secret").path)
        XCTAssertEqual(curve.clients.map(\.publisher), ["scraper"])
        XCTAssertEqual(curve.clients.map(\.publicKey), [clientPublic])
        XCTAssertFalse("\(curve)".contains(serverSecret), "the description never shows the secret key")
        XCTAssertEqual(config.effectiveUnlistedPublishers, .allow)
    }

    func testSecretKeyReadableByGroupOrOthersIsAConfigErrorNamingKeyAndFile() throws {
        for mode in [0o644, 0o640, 0o604] {
            try FileManager.default.setAttributes([.posixPermissions: mode],
                                                  ofItemAtPath: dir.appendingPathComponent("keys/server.key_secret").path)
            let e = try XCTUnwrap(loadError(toml()))
            XCTAssertEqual(e.key, "sources[0].curve_secret_key")
            XCTAssertTrue(e.message.contains(dir.appendingPathComponent("keys/server.key_secret").path), e.message)
            XCTAssertTrue(e.message.contains(String(format: "%04o", mode)), e.message)
            XCTAssertEqual(e.hint, "chmod 600 \(dir.appendingPathComponent("keys/server.key_secret").path)")
        }
    }

    func testALiteralSecretKeyInTheConfigIsRefusedNamingTheKeyWithoutEchoingIt() throws {
        let text = toml().replacingOccurrences(of: #"curve_secret_key = "keys/server.key_secret""#,
                                               with: "curve_secret_key = \"\(serverSecret)\"")
        let e = try XCTUnwrap(loadError(text))
        XCTAssertEqual(e.key, "sources[0].curve_secret_key")
        XCTAssertTrue(e.message.contains("literal CURVE secret key"), e.message)
        XCTAssertFalse("\(e)".contains(serverSecret), "the error never shows the secret: \(e)")
        XCTAssertTrue(e.hint?.contains("kpictl keygen") ?? false)
    }

    func testMissingOrMalformedKeyFilesAreConfigErrors() throws {
        try FileManager.default.removeItem(at: dir.appendingPathComponent("keys/server.key"))
        XCTAssertEqual(loadError(toml())?.key, "sources[0].curve_public_key")
        try write("keys/server.key", serverPublic, mode: 0o644)
        try write("keys/clients/broken.key", "not a key", mode: 0o644)
        let e = try XCTUnwrap(loadError(toml()))
        XCTAssertEqual(e.key, "sources[0].curve_clients")
        XCTAssertTrue(e.message.contains("broken.key"), e.message)
    }

    func testTwoClientFilesWithOneKeyAreRefused() throws {
        try write("keys/clients/copy.key", clientPublic, mode: 0o644)
        let e = try XCTUnwrap(loadError(toml()))
        XCTAssertTrue(e.message.contains("copy.key") && e.message.contains("scraper.key"), e.message)
    }

    func testEmptyClientsDirectoryAndHalfConfiguredCurveAreRefused() throws {
        try FileManager.default.removeItem(at: dir.appendingPathComponent("keys/clients/scraper.key"))
        XCTAssertEqual(loadError(toml())?.key, "sources[0].curve_clients")
        let noClients = toml().replacingOccurrences(of: "curve_clients = \"keys/clients\"", with: "")
        XCTAssertEqual(loadError(noClients)?.key, "sources[0].curve_clients")
    }

    func testPublishersCompileAndTheirTenantFieldIsExtracted() throws {
        try write("keys/clients/web.key", otherPublic, mode: 0o644)
        let config = try load(toml("""
            [[publishers]]
            name = "scraper"
            types = ["scrape.*", "listing.*"]
            tenants = ["t1"]
            tenant_field = "org"
            """))
        XCTAssertEqual(config.publishers, [PublisherConfig(name: "scraper", types: ["scrape.*", "listing.*"], tenants: ["t1"], tenantField: "org")])
        XCTAssertEqual(config.effectiveUnlistedPublishers, .deny, "deny by default once publishers are listed")
        XCTAssertNotNil(WindowEngine(config: config).catalog.existingSlot(for: "org"))
        let allow = try load(toml("[[publishers]]\nname = \"scraper\"", kpid: "unlisted_publishers = \"allow\""))
        XCTAssertEqual(allow.effectiveUnlistedPublishers, .allow)
    }

    func testPublisherWithoutAClientKeyIsATypo() throws {
        let e = try XCTUnwrap(loadError(toml("[[publishers]]\nname = \"scrapper\"")))
        XCTAssertEqual(e.key, "publishers[0].name")
        XCTAssertEqual(e.hint, "did you mean \"scraper\"?")
    }

    func testStarOnlyEndsATypePattern() throws {
        let e = try XCTUnwrap(loadError(toml("[[publishers]]\nname = \"scraper\"\ntypes = [\"scr*pe\"]")))
        XCTAssertEqual(e.key, "publishers[0].types[0]")
    }
}
