// swift-tools-version:6.1
import PackageDescription

// The libFuzzer target of kpid, kept out of the main package so that `-sanitize=fuzzer,address`
// never touches the normal build (its own .build directory). Build and run with tools/fuzz.sh.
let package = Package(
    name: "kpid-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "kpid", path: "..")],
    targets: [
        .executableTarget(
            name: "kpid-fuzz",
            dependencies: [
                .product(name: "KPICore", package: "kpid"),
                .product(name: "KPIConfig", package: "kpid"),
                .product(name: "KPIPipeline", package: "kpid"),
            ],
            // No Swift `main`: libFuzzer's driver is the entry point.
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ],
    swiftLanguageModes: [.v6]
)
