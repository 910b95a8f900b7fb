/// What one authenticated publisher may send (`[[publishers]]` in `kpid.toml`).
///
/// A publisher is a CURVE client identity (the name of its key file). `nil` lists mean "any".
public struct PublisherConfig: Sendable, Equatable {
    /// The publisher name, as in the clients directory (`NAME.key`).
    public var name: String
    /// Event types it may send: exact names, or prefixes ending in `*` (`"scrape.*"`). nil: any type.
    public var types: [String]?
    /// Values of ``tenantField`` it may send. nil: any tenant (and events without one).
    public var tenants: [String]?
    /// The event field holding the tenant (default `tenant`).
    public var tenantField: String = "tenant"

    public init(name: String, types: [String]? = nil, tenants: [String]? = nil, tenantField: String = "tenant") {
        self.name = name
        self.types = types
        self.tenants = tenants
        self.tenantField = tenantField
    }
}

/// What happens to events of an authenticated publisher that has no `[[publishers]]` entry.
public enum UnlistedPublisherPolicy: String, Sendable, Equatable, CaseIterable {
    /// It may send anything.
    case allow
    /// Every event it sends is rejected as `forbidden_publisher`.
    case deny
}
