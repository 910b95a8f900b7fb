/// The verdict on one event of an authenticated publisher.
public enum PermissionVerdict: Sendable, Equatable {
    case allowed
    /// The publisher may not send this event type.
    case forbiddenType
    /// The publisher may not send this tenant (or sent none while restricted to tenants).
    case forbiddenTenant
    /// The publisher has no `[[publishers]]` entry and unlisted publishers are denied.
    case unlistedPublisher
}

/// Compiled per-publisher permissions: decides whether an authenticated publisher may send an
/// event of a given type and tenant. Pure: no I/O, no clock.
///
/// Publishers are identified by a dense index (``index(of:)``, ``index(ofUserID:)``) so the hot
/// path compares bytes and never builds a string. A check allocates nothing: it scans the
/// publisher's type patterns (exact names, or prefixes ending in `*`) and tenant list with byte
/// comparisons. Memory: the pattern bytes of every publisher, once.
public struct PublisherPermissions: Sendable {
    /// Known publisher names (every admitted client identity and every configured entry), by index.
    public let names: [String]
    private let nameBytes: [[UInt8]]
    /// Per publisher: nil = any type; else patterns (bytes, prefix flag).
    private let typeRules: [[(bytes: [UInt8], prefix: Bool)]?]
    /// Per publisher: nil = any tenant; else allowed tenant values.
    private let tenantRules: [[[UInt8]]?]
    /// Per publisher: the tenant field's name.
    public let tenantFields: [String]
    /// Per publisher: whether it has a `[[publishers]]` entry.
    private let listed: [Bool]
    private let unlisted: UnlistedPublisherPolicy

    /// Compiles `rules` for the publishers `identities` (e.g. the client key names of every CURVE
    /// source); rule names missing from `identities` are added.
    public init(identities: [String], rules: [PublisherConfig], unlisted: UnlistedPublisherPolicy) {
        var names: [String] = []
        var seen: Set<String> = []
        for n in identities + rules.map(\.name) where seen.insert(n).inserted { names.append(n) }
        let byName = Dictionary(rules.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.names = names
        nameBytes = names.map { Array($0.utf8) }
        typeRules = names.map { n in
            byName[n]?.types.map { list in
                list.map { p in p.hasSuffix("*") ? (Array(p.utf8.dropLast()), true) : (Array(p.utf8), false) }
            }
        }
        tenantRules = names.map { n in byName[n]?.tenants.map { $0.map { Array($0.utf8) } } }
        tenantFields = names.map { byName[$0]?.tenantField ?? "tenant" }
        listed = names.map { byName[$0] != nil }
        self.unlisted = unlisted
    }

    /// The index of the publisher called `name`.
    public func index(of name: String) -> Int? { names.firstIndex(of: name) }

    /// The index of the publisher whose name has these UTF-8 bytes (a ZAP user id). No allocation.
    public func index(ofUserID bytes: UnsafeRawBufferPointer) -> Int? {
        for (i, n) in nameBytes.enumerated() where n.count == bytes.count {
            if n.withUnsafeBytes({ $0.elementsEqual(bytes) }) { return i }
        }
        return nil
    }

    /// Whether publisher `publisher` (an index) restricts tenants, i.e. whether ``check`` reads the tenant.
    public func restrictsTenants(_ publisher: Int) -> Bool { tenantRules[publisher] != nil }

    /// Decides on one event: its type's bytes and the value of the publisher's tenant field.
    public func check(publisher: Int, type: UnsafeRawBufferPointer, tenant: FieldValue) -> PermissionVerdict {
        if !listed[publisher] { return unlisted == .allow ? .allowed : .unlistedPublisher }
        if let rules = typeRules[publisher], !rules.contains(where: { Self.matches($0.bytes, prefix: $0.prefix, type) }) {
            return .forbiddenType
        }
        if let tenants = tenantRules[publisher] {
            guard tenant.kind == .string else { return .forbiddenTenant }
            let value = tenant.string
            if !tenants.contains(where: { Self.matches($0, prefix: false, value) }) { return .forbiddenTenant }
        }
        return .allowed
    }

    @inline(__always)
    private static func matches(_ pattern: [UInt8], prefix: Bool, _ bytes: UnsafeRawBufferPointer) -> Bool {
        if prefix ? bytes.count < pattern.count : bytes.count != pattern.count { return false }
        return pattern.withUnsafeBytes { p in
            p.isEmpty || p.elementsEqual(UnsafeRawBufferPointer(rebasing: bytes[0..<p.count]))
        }
    }
}
