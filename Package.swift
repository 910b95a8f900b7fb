// swift-tools-version:6.1
import PackageDescription

// kpid: ZeroMQ event streams in, event-time windowed KPIs in SQLite out.
//
// The layout follows the data path:
//   KPICore      pure model: events, filters, calendar windows, aggregates, the window engine (no I/O)
//   CKPIJSON     C++ bridge over simdjson (on-demand), extracts only the fields a config uses
//   KPIPipeline  bytes -> decoded event -> window engine (pure, no I/O)
//   KPIConfig    TOML -> compiled configuration, with key/line errors
//   CZeroMQ/ZeroMQ  thin, safe libzmq binding
//   KPIStore     SQLite (GRDB): schema, migrations, flush writer, queries; CLZ4 compresses the journal
//   KPIDaemon    services that wire adapters around the core
//   kpid, kpictl executables
/// The hot path (decode, filter, window, aggregate) is single-threaded by design: one pipeline
/// and one engine per ingest thread. Dynamic exclusivity checks on their class properties cost
/// a runtime call per access there, so they are off in these two targets (static checks stay).
let hotPathSettings: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "kpid",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kpid", targets: ["kpid"]),
        .executable(name: "kpictl", targets: ["kpictl"]),
        .library(name: "KPICore", targets: ["KPICore"]),
        .library(name: "KPIPipeline", targets: ["KPIPipeline"]),
        .library(name: "KPIConfig", targets: ["KPIConfig"]),
        .library(name: "KPIStore", targets: ["KPIStore"]),
        .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
        .library(name: "KPINotify", targets: ["KPINotify"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit.git", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        // Direct SMTP receivers: a NIO client with STARTTLS (both already come with AsyncHTTPClient).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.29.0"),
    ],
    targets: [
        // A prefetch hint for the core's hash tables (header-only C: Swift has no intrinsic).
        .target(name: "CPrefetch"),
        .target(name: "KPICore", dependencies: ["CPrefetch"], swiftSettings: hotPathSettings),
        .target(
            name: "CKPIJSON",
            cxxSettings: [.unsafeFlags(["-O2"])],
            linkerSettings: [.linkedLibrary("simdjson")]
        ),
        .target(name: "KPIPipeline", dependencies: ["KPICore", "CKPIJSON"], swiftSettings: hotPathSettings),
        .target(name: "KPIConfig", dependencies: ["KPICore", .product(name: "TOMLKit", package: "TOMLKit")]),
        .systemLibrary(
            name: "CZeroMQ",
            providers: [.apt(["libzmq3-dev"])]
        ),
        .target(name: "ZeroMQ", dependencies: ["CZeroMQ"]),
        // LZ4 block compression of the event journal's frames (KPIStore+Journal.swift).
        .systemLibrary(
            name: "CLZ4",
            pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"])]
        ),
        .target(
            name: "KPIStore",
            dependencies: ["KPICore", "CLZ4", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Notification adapters: webhook (AsyncHTTPClient, HMAC with swift-crypto), email
        // (sendmail-compatible program, or direct SMTP over NIO + NIOSSL), and the outbox
        // delivery service.
        .target(
            name: "KPINotify",
            dependencies: [
                "KPICore", "KPIStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "KPIDaemon",
            dependencies: [
                "KPICore", "KPIPipeline", "KPIConfig", "KPIStore", "ZeroMQ", "KPINotify",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "kpid",
            dependencies: [
                "KPIDaemon",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "kpictl",
            dependencies: [
                "KPICore", "KPIConfig", "KPIStore", "ZeroMQ", "KPIPipeline", "KPINotify",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "KPICoreTests", dependencies: ["KPICore"]),
        .testTarget(name: "KPIPipelineTests", dependencies: ["KPIPipeline", "KPICore", "KPIConfig"]),
        .testTarget(name: "KPIConfigTests", dependencies: ["KPIConfig", "KPICore"]),
        .testTarget(name: "ZeroMQTests", dependencies: ["ZeroMQ"]),
        .testTarget(name: "KPIAlertsTests", dependencies: ["KPICore", "KPIConfig", "KPIStore", "KPINotify"]),
        .testTarget(name: "KPIStoreTests", dependencies: ["KPIStore", "KPICore", .product(name: "GRDB", package: "GRDB.swift")]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)
