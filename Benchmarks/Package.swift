// swift-tools-version:6.1
import PackageDescription

// Benchmarks of kpid's hot path with ordo-one/benchmark. A separate package so that the main
// build and `swift test` do not compile the benchmark harness.
//
//   cd Benchmarks && swift package benchmark            # or: tools/bench.sh
let package = Package(
    name: "kpid-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "kpid", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "Pipeline",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KPIPipeline", package: "kpid"),
                .product(name: "KPIConfig", package: "kpid"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/Pipeline",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Alerts",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KPIPipeline", package: "kpid"),
                .product(name: "KPIConfig", package: "kpid"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/Alerts",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
