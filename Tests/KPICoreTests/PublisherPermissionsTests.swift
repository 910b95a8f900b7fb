import KPICore
import XCTest

final class PublisherPermissionsTests: XCTestCase {
    private let scraper = PublisherConfig(name: "scraper", types: ["scrape.*", "listing.*", "ping"], tenants: ["t1", "t2"])

    private func check(_ p: PublisherPermissions, _ publisher: String, _ type: String, tenant: String?) -> PermissionVerdict {
        let i = p.index(of: publisher)!
        let typeBytes = Array(type.utf8)
        let tenantBytes = Array((tenant ?? "").utf8)
        return typeBytes.withUnsafeBytes { t in
            tenantBytes.withUnsafeBytes { v in
                p.check(publisher: i, type: t, tenant: tenant == nil ? FieldValue(kind: .absent) : FieldValue(kind: .string, string: v))
            }
        }
    }

    func testTypesMatchByTrailingStarPrefixOrExactly() {
        let p = PublisherPermissions(identities: ["scraper"], rules: [scraper], unlisted: .allow)
        XCTAssertEqual(check(p, "scraper", "scrape.page", tenant: "t1"), .allowed)
        XCTAssertEqual(check(p, "scraper", "scrape.", tenant: "t1"), .allowed)
        XCTAssertEqual(check(p, "scraper", "listing.price.changed", tenant: "t2"), .allowed)
        XCTAssertEqual(check(p, "scraper", "ping", tenant: "t1"), .allowed)
        XCTAssertEqual(check(p, "scraper", "click", tenant: "t1"), .forbiddenType)
        XCTAssertEqual(check(p, "scraper", "scrape", tenant: "t1"), .forbiddenType, "the prefix includes the dot")
        XCTAssertEqual(check(p, "scraper", "pingpong", tenant: "t1"), .forbiddenType, "exact names are not prefixes")
        XCTAssertEqual(check(p, "scraper", "pin", tenant: "t1"), .forbiddenType)
    }

    func testTenantMustBeListedAndPresentWhenTenantsAreRestricted() {
        let p = PublisherPermissions(identities: ["scraper"], rules: [scraper], unlisted: .allow)
        XCTAssertEqual(check(p, "scraper", "scrape.page", tenant: "t3"), .forbiddenTenant)
        XCTAssertEqual(check(p, "scraper", "scrape.page", tenant: "t"), .forbiddenTenant)
        XCTAssertEqual(check(p, "scraper", "scrape.page", tenant: "t10"), .forbiddenTenant)
        XCTAssertEqual(check(p, "scraper", "scrape.page", tenant: nil), .forbiddenTenant)
        XCTAssertEqual(check(p, "scraper", "click", tenant: "t3"), .forbiddenType, "the type is checked first")
    }

    func testPublisherWithoutRestrictionsMaySendAnything() {
        let open = PublisherConfig(name: "web")
        let p = PublisherPermissions(identities: ["web"], rules: [open], unlisted: .deny)
        XCTAssertEqual(check(p, "web", "click", tenant: nil), .allowed)
        XCTAssertFalse(p.restrictsTenants(p.index(of: "web")!))
    }

    func testUnlistedPublisherFollowsThePolicy() {
        let deny = PublisherPermissions(identities: ["scraper", "web"], rules: [scraper], unlisted: .deny)
        XCTAssertEqual(check(deny, "web", "click", tenant: "t1"), .unlistedPublisher)
        let allow = PublisherPermissions(identities: ["scraper", "web"], rules: [scraper], unlisted: .allow)
        XCTAssertEqual(check(allow, "web", "click", tenant: "t9"), .allowed)
    }

    func testUserIDBytesFindThePublisherIndex() {
        let p = PublisherPermissions(identities: ["web", "scraper"], rules: [scraper], unlisted: .allow)
        XCTAssertEqual(p.names, ["web", "scraper"])
        for (i, name) in p.names.enumerated() {
            XCTAssertEqual(Array(name.utf8).withUnsafeBytes { p.index(ofUserID: $0) }, i)
        }
        XCTAssertNil(Array("scrape".utf8).withUnsafeBytes { p.index(ofUserID: $0) })
        XCTAssertNil(Array("scraperx".utf8).withUnsafeBytes { p.index(ofUserID: $0) })
    }
}
