import Benchmark
import BenchmarkSupport
import KPICore

// The cost of the sketch aggregates in the engine, against baselines measured in the same run
// (so that ratios survive a noisy shared machine). Every iteration folds the same 100,000
// pre-decoded `http.request` events (no JSON decoding, built once per benchmark) into a fresh
// engine, one hour window, grouped by route (5 label sets):
// - "sum (baseline)" vs "quantile p50/p95/p99": the DDSketch insert (a log and an increment);
// - "distinct exact" vs "distinct HyperLogLog": 100,000 distinct users into an exact set
//   (distinct_exact_max 1,000,000) vs into a HyperLogLog (distinct_exact_max 1: every cell switches
//   at its second value).

let events = 100_000

/// The events of each benchmark, built on its first run.
nonisolated(unsafe) var prepared: [String: SketchEvents] = [:]

func run(_ benchmark: Benchmark, _ aggregate: AggregateSpec, exactMax: Int = 100_000) {
    let e = prepared[benchmark.name] ?? SketchEvents(config: SketchEvents.config(aggregate, groupBy: ["route"], exactMax: exactMax),
                                                     count: events, users: events)
    prepared[benchmark.name] = e
    for _ in benchmark.scaledIterations {
        e.reset()
        benchmark.startMeasurement()
        e.ingestAll()
        benchmark.stopMeasurement()
        blackHole(e.engine.flush())
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions, .peakMemoryResident],
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 20
    )
    Benchmark("count (baseline)") { run($0, .count) }
    Benchmark("sum (baseline)") { run($0, .sum("duration_ms")) }
    Benchmark("quantile p50/p95/p99") { run($0, .quantile("duration_ms", [0.5, 0.95, 0.99])) }
    Benchmark("distinct exact") { run($0, .distinct("user"), exactMax: 1_000_000) }
    Benchmark("distinct HyperLogLog") { run($0, .distinct("user"), exactMax: 1) }
}
