// swift-tools-version:6.1
import PackageDescription

// Benchmarks of kpid's hot path with ordo-one/benchmark. A separate package so that the main
// build and `swift test` do not compile the benchmark harness.
//
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark --target Pipeline
//   cd Benchmarks && swift build -c release --product Profile   # driver for callgrind/perf
let package = Package(
    name: "kpid-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "kpid", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", from: "1.38.0", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The replayed workload (seeded NDJSON payloads, the shipped config), shared by both.
        .target(
            name: "BenchmarkSupport",
            dependencies: [
                .product(name: "KPIConfig", package: "kpid"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/BenchmarkSupport"
        ),
        .executableTarget(
            name: "Pipeline",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KPIPipeline", package: "kpid"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/Pipeline",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Dedupe",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/Dedupe",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Qualify",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KPIConfig", package: "kpid"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/Qualify",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // A plain driver over the same workload for profilers (callgrind, perf); see its main.swift.
        .executableTarget(
            name: "Profile",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "KPIPipeline", package: "kpid"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/Profile"
        ),
        // Sketch aggregates (quantile, distinct exact vs HyperLogLog) against same-run baselines.
        .executableTarget(
            name: "Sketches",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/Sketches",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Resident bytes per exact distinct element, per HyperLogLog, per quantile sketch.
        .executableTarget(
            name: "SketchMemory",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/SketchMemory"
        ),
        .executableTarget(
            name: "Alerts",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KPIPipeline", package: "kpid"),
                .product(name: "KPIConfig", package: "kpid"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/Alerts",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Derived",
            dependencies: [
                "BenchmarkSupport",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "KPIPipeline", package: "kpid"),
                .product(name: "KPIConfig", package: "kpid"),
                .product(name: "KPICore", package: "kpid"),
            ],
            path: "Benchmarks/Derived",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
