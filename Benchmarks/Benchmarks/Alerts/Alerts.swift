import Benchmark
import BenchmarkSupport
import Foundation
import KPIConfig
import KPICore
import KPIPipeline

// Issue 5: rule evaluation with 100 rules over 10,000 label sets must not slow ingest measurably.
//
// One iteration ingests 200,000 events spread over 10,000 tenants (one metric, count per tenant
// and minute) and flushes every 20,000 events: 10 flushes of ~10,000 changed rows each.
// - "ingest + flush (baseline)": decode + aggregate + flush, no alerting;
// - "ingest + flush + 100 rules on the same thread": the alerting stage runs after every flush
//   on the ingest thread itself (worst case; kpid runs it on the store writer's queue);
// - "100 rules, evaluation only": the alerting stage over the same flush batches, alone.
// A flush every 20,000 events is far more often than kpid flushes (once per flush_interval,
// 1 s by default, while ingest runs at millions of events/s in release builds), so the pairs
// above are a worst case, and every iteration also pays the first sight of 10,000 label sets
// (labels parsed, rules matched). The "one flush per 200,000 events" pair is nearer the real
// rate. "steady state" evaluates the same 10 flushes with every label set already known, as a
// running kpid does: its time per flush, divided by flush_interval, is the share of one core
// that evaluation takes on the store writer's queue.
// 100 rules: thresholds spread so that ~1 % of the label sets fire, a quarter with a matcher,
// a tenth `absent_for`.

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
        // ~30 s of event time per run, within one minute window mostly.
        return #"{"type":"req","ts":\#(base + Int64(i) / 8),"tenant":"t\#(tenant)","status":500}"#
    }
}

let configText = """
[[sources]]
name = "in"
kind = "pull"
bind = ["tcp://127.0.0.1:5557"]

[[metrics]]
name = "errors"
events = ["req"]
aggregate = "count"
group_by = ["tenant"]
windows = ["minute"]

[[receivers]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:9/"

""" + (0..<100).map { i -> String in
    if i % 10 == 9 {
        return "[[alerts]]\nname = \"silent_\(i)\"\nmetric = \"errors\"\nabsent_for = \"30m\"\n"
    }
    let match = i % 4 == 0 ? "match = { tenant = \"t\(i)\" }\n" : ""
    return "[[alerts]]\nname = \"errors_\(i)\"\nmetric = \"errors\"\ncondition = \"value > \(38 + i % 5)\"\n\(match)"
        + "annotations = { summary = \"{{ labels.tenant }} {{ value }}\" }\n"
}.joined(separator: "\n")

/// The stage, handed to the writer queue (only that queue touches it).
final class StageBox: @unchecked Sendable {
    let stage: AlertingStage
    init(_ stage: AlertingStage) { self.stage = stage }
}

let benchmarks: @Sendable () -> Void = {
    let data = payloads()
    let config: KpidConfig
    do { config = try ConfigLoader.parse(configText) } catch { fatalError("\(error)") }
    precondition(config.alertRules.count == 100)
    Benchmark.defaultConfiguration = .init(
        metrics: [.throughput, .wallClock, .mallocCountTotal, .instructions],
        scalingFactor: .one,
        maxDuration: .seconds(10),
        maxIterations: 10
    )

    /// `writer`: run the alerting stage on a serial queue, as kpid's flush writer does. `warm`:
    /// one stage that has already seen a whole run (outside the measurement), so that the label
    /// sets are known, as in a running kpid.
    func ingest(_ benchmark: Benchmark, alerts: Bool, writer: DispatchQueue? = nil, every: Int = flushEvery,
                warm: Bool = false) {
        func run(_ stage: AlertingStage) {
            let pipeline = try! IngestPipeline(config: config, clock: ManualClock(base + 60_000))
            let box = StageBox(stage)
            var events = 0
            var rows = 0
            for p in data {
                p.withUnsafeBytes { b in pipeline.process(topic: nil, payload: b, source: 0) }
                events += eventsPerMessage
                if events % every == 0 {
                    let f = pipeline.flush()
                    rows += f.batch.rows.count
                    let now = base + Int64(events)
                    if let writer {
                        let batch = f.batch
                        writer.async { blackHole(box.stage.step(rows: batch.rows, watermark: batch.watermark, now: now)) }
                    } else if alerts {
                        blackHole(stage.step(rows: f.batch.rows, watermark: f.batch.watermark, now: now))
                    }
                }
            }
            writer?.sync {}
            blackHole(rows)
        }
        func newStage() -> AlertingStage {
            AlertingStage(rules: config.alertRules, receivers: config.receivers, config: config.alerting)
        }
        let shared = warm ? newStage() : nil
        if let shared {
            run(shared)
            benchmark.startMeasurement()
        }
        for _ in benchmark.scaledIterations { run(shared ?? newStage()) }
        if warm { benchmark.stopMeasurement() }
    }

    Benchmark("ingest + flush (baseline)") { benchmark in ingest(benchmark, alerts: false) }
    Benchmark("ingest + flush + 100 rules on the same thread") { benchmark in ingest(benchmark, alerts: true) }
    Benchmark("ingest + flush + 100 rules on a writer queue (as in kpid)") { benchmark in
        ingest(benchmark, alerts: true, writer: DispatchQueue(label: "writer"))
    }
    Benchmark("one flush per 200,000 events: ingest + flush (baseline)") { benchmark in
        ingest(benchmark, alerts: false, every: eventsPerRun)
    }
    Benchmark("one flush per 200,000 events: ingest + flush + 100 rules on the same thread") { benchmark in
        ingest(benchmark, alerts: true, every: eventsPerRun)
    }
    Benchmark("one flush per 200,000 events: ingest + flush + 100 rules on the same thread, label sets known") { benchmark in
        ingest(benchmark, alerts: true, every: eventsPerRun, warm: true)
    }

    // The flush batches of one run, computed once.
    let pipeline = try! IngestPipeline(config: config, clock: ManualClock(base + 60_000))
    var batches: [FlushBatch] = []
    var events = 0
    for p in data {
        p.withUnsafeBytes { b in pipeline.process(topic: nil, payload: b, source: 0) }
        events += eventsPerMessage
        if events % flushEvery == 0 { batches.append(pipeline.flush().batch) }
    }
    let frozen = batches
    Benchmark("100 rules, evaluation only, steady state (10 flushes of ~10,000 known label sets)") { benchmark in
        let stage = AlertingStage(rules: config.alertRules, receivers: config.receivers, config: config.alerting)
        for (i, b) in frozen.enumerated() { blackHole(stage.step(rows: b.rows, watermark: b.watermark, now: base + Int64(i) * 1000)) }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            for (i, b) in frozen.enumerated() {
                blackHole(stage.step(rows: b.rows, watermark: b.watermark, now: base + 10_000 + Int64(i) * 1000))
            }
        }
        benchmark.stopMeasurement()
    }
    Benchmark("100 rules, evaluation only (10 flushes of ~10,000 rows)") { benchmark in
        for _ in benchmark.scaledIterations {
            let stage = AlertingStage(rules: config.alertRules, receivers: config.receivers, config: config.alerting)
            var firing = 0
            for (i, b) in frozen.enumerated() {
                let s = stage.step(rows: b.rows, watermark: b.watermark, now: base + Int64(i) * 1000)
                firing += s.changes.fired.count
            }
            blackHole(firing)
        }
    }
}
