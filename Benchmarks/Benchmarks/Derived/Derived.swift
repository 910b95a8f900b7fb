import Benchmark
import BenchmarkSupport
import Foundation
import KPIConfig
import KPICore
import KPIPipeline

// Issue 4 (derived metrics): derived rows are computed once per flush from the flush's rows,
// never per event, so the ingest path is unchanged. This measures what a flush costs with them.
//
// One iteration ingests 200,000 events over 10,000 tenants (requests and errors per tenant and
// minute) and flushes every 20,000 events: 10 flushes of ~20,000 changed operand rows each.
// - "ingest + flush (no derived)": the two plain metrics only;
// - "ingest + flush + ratio and delta": plus `error_rate = ratio(errors, requests)` and
//   `error_rate_delta = delta(error_rate)`;
// - "derived only": the derived stage over the same flush batches, alone.

let tenants = 10_000
let eventsPerRun = 200_000
let flushEvery = 20_000
let eventsPerMessage = 100
let base: Int64 = 1_763_856_000_000

func payloads() -> [[UInt8]] {
    var rng: UInt64 = 7
    return Workload.ndjson(events: eventsPerRun, perMessage: eventsPerMessage) { i in
        rng = rng &* 6364136223846793005 &+ 1442695040888963407
        let tenant = Int(rng >> 33) % tenants
        let status = (rng >> 20) % 10 == 0 ? 500 : 200
        return #"{"type":"req","ts":\#(base + Int64(i) / 2),"tenant":"t\#(tenant)","status":\#(status)}"#
    }
}

let plainConfig = """
[[sources]]
name = "in"
kind = "pull"
bind = ["tcp://127.0.0.1:5557"]

[[metrics]]
name = "requests"
events = ["req"]
aggregate = "count"
group_by = ["tenant"]
windows = ["minute"]

[[metrics]]
name = "errors"
events = ["req"]
filter = "status >= 500"
aggregate = "count"
group_by = ["tenant"]
windows = ["minute"]

"""

let derivedConfig = plainConfig + """
[[metrics]]
name = "error_rate"
expr = "ratio(errors, requests)"

[[metrics]]
name = "error_rate_delta"
expr = "delta(error_rate)"

"""

let benchmarks: @Sendable () -> Void = {
    let data = payloads()
    let plain: KpidConfig, derived: KpidConfig
    do {
        plain = try ConfigLoader.parse(plainConfig)
        derived = try ConfigLoader.parse(derivedConfig)
    } catch { fatalError("\(error)") }
    precondition(derived.derivedMetrics.count == 2)
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions],
        scalingFactor: .one,
        maxDuration: .seconds(10),
        maxIterations: 10
    )

    func ingest(_ benchmark: Benchmark, _ config: KpidConfig) {
        for _ in benchmark.scaledIterations {
            let pipeline = try! IngestPipeline(config: config, clock: ManualClock(base + 600_000))
            var events = 0
            var rows = 0
            for p in data {
                p.withUnsafeBytes { b in pipeline.process(topic: nil, payload: b, source: 0) }
                events += eventsPerMessage
                if events % flushEvery == 0 { rows += pipeline.flush().batch.rows.count }
            }
            blackHole(rows)
        }
    }

    Benchmark("ingest + flush (no derived)") { benchmark in ingest(benchmark, plain) }
    Benchmark("ingest + flush + ratio and delta") { benchmark in ingest(benchmark, derived) }

    // The engine's flush batches of one run, computed once.
    let pipeline = try! IngestPipeline(config: plain, clock: ManualClock(base + 600_000))
    var batches: [FlushBatch] = []
    var events = 0
    for p in data {
        p.withUnsafeBytes { b in pipeline.process(topic: nil, payload: b, source: 0) }
        events += eventsPerMessage
        if events % flushEvery == 0 { batches.append(pipeline.flush().batch) }
    }
    let frozen = batches
    Benchmark("ratio and delta only (10 flushes of the engine's rows)") { benchmark in
        for _ in benchmark.scaledIterations {
            let stage = DerivedStage(config: derived)
            var rows = 0
            for b in frozen {
                var batch = b
                stage.process(&batch)
                rows += batch.rows.count
            }
            blackHole(rows)
        }
    }
}
