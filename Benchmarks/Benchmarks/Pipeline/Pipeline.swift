import Benchmark
import Foundation
import BenchmarkSupport
import KPICore
import KPIPipeline

// Figure (a) of the foundation issue: events per second through decode + aggregate on one
// core, replaying NDJSON in process with the shipped config (conf/kpid.toml).
//
// Baselines measured in the same run, so that ratios survive a noisy shared machine:
// - "decode only": the simdjson decoder walking the same payloads, extracting the same fields;
// - "scan only": counting the newlines of the same payloads (a memory-bandwidth floor).
// Each benchmark iteration processes one payload set of `Workload.eventsPerRun` events (see BenchmarkSupport).

let benchmarks: @Sendable () -> Void = {
    let payloads = Workload.payloads()
    let config = Workload.shippedConfig()
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions],
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 30
    )

    Benchmark("scan only (baseline)") { benchmark in
        var lines = 0
        for _ in benchmark.scaledIterations {
            for p in payloads {
                p.withUnsafeBytes { b in for byte in b where byte == 10 { lines &+= 1 } }
            }
        }
        blackHole(lines)
    }

    Benchmark("decode only (baseline)") { benchmark in
        let pipeline = IngestPipeline(config: config, clock: ManualClock(Workload.clockMillis))
        let decoder = EventDecoder(fields: pipeline.engine.catalog.names)
        var events = 0
        for _ in benchmark.scaledIterations {
            for p in payloads {
                p.withUnsafeBytes { b in
                    decoder.load(b)
                    while case .event = decoder.next() { events &+= 1 }
                }
            }
        }
        blackHole(events)
    }

    Benchmark("decode + aggregate, shipped config") { benchmark in
        let clock = ManualClock(Workload.clockMillis)
        let pipeline = IngestPipeline(config: config, clock: clock)
        for _ in benchmark.scaledIterations {
            for p in payloads {
                p.withUnsafeBytes { b in pipeline.process(topic: nil, payload: b, source: 0) }
            }
        }
        blackHole(pipeline.flush().batch.rows.count)
    }
}
