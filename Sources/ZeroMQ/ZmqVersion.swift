import CZeroMQ

/// A libzmq version number (`major.minor.patch`).
public struct ZmqVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Major version; 4 for every libzmq this binding supports.
    public let major: Int
    /// Minor version.
    public let minor: Int
    /// Patch version.
    public let patch: Int

    /// Creates a version value.
    public init(major: Int, minor: Int, patch: Int) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// The version of the libzmq shared library loaded at run time (`zmq_version`).
    /// Cost: one cheap C call per access.
    public static var current: ZmqVersion {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return ZmqVersion(major: Int(major), minor: Int(minor), patch: Int(patch))
    }

    /// The version of the `zmq.h` header this module was compiled against.
    public static var compiledAgainst: ZmqVersion {
        ZmqVersion(major: Int(ZMQ_VERSION_MAJOR), minor: Int(ZMQ_VERSION_MINOR), patch: Int(ZMQ_VERSION_PATCH))
    }

    /// Whether the loaded libzmq was built with a capability (`zmq_has`), for example
    /// `"ipc"`, `"curve"`, `"gssapi"`, `"draft"`. Cost: one cheap C call.
    public static func hasCapability(_ capability: String) -> Bool {
        zmq_has(capability) != 0
    }

    /// Orders versions by major, then minor, then patch.
    public static func < (lhs: ZmqVersion, rhs: ZmqVersion) -> Bool {
        (lhs.major, lhs.minor, lhs.patch) < (rhs.major, rhs.minor, rhs.patch)
    }

    /// `"major.minor.patch"`.
    public var description: String { "\(major).\(minor).\(patch)" }
}
