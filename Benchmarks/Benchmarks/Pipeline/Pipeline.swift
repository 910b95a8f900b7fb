import Benchmark
import Foundation
import KPIConfig
import KPICore
import KPIPipeline

// Figure (a) of the foundation issue: events per second through decode + aggregate on one
// core, replaying NDJSON in process with the shipped config (conf/kpid.toml).
//
// Baselines measured in the same run, so that ratios survive a noisy shared machine:
// - "decode only": the simdjson decoder walking the same payloads, extracting the same fields;
// - "scan only": counting the newlines of the same payloads (a memory-bandwidth floor).
// - "without qualification": the shipped config minus its qualification pipelines and the metrics
//   over them, so that "shipped config" / "without qualification" is the cost of qualifying clicks
//   (bot cache + matcher, self-referrer, dedupe) — the qualification issue's ≤ 30% target.
// Each benchmark iteration processes one payload set of `eventsPerRun` events.

let eventsPerRun = 100_000
let eventsPerMessage = 100

/// ~300-byte events in the shape the shipped config documents, seeded for repeatability.
func makePayloads() -> [[UInt8]] {
    var rng = UInt64(42)
    func next() -> UInt64 {
        rng &+= 0x9E37_79B9_7F4A_7C15
        var z = rng
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    let retailers = ["pcandparts", "ayoub", "mojitech", "441store", "starlite", "technoworld"]
    let routes = ["/api/search", "/api/listing/:id", "/api/build", "/api/retailers", "/health"]
    let base: Int64 = 1_763_856_000_000 // 2025-11-23T00:00:00Z
    var payloads: [[UInt8]] = []
    var lines: [String] = []
    for i in 0..<eventsPerRun {
        let ts = base + Int64(i) * 20 // 100k events over ~33 minutes
        if next() % 2 == 0 {
            let r = retailers[Int(next() % UInt64(retailers.count))]
            lines.append(#"{"type":"click","ts":\#(ts),"retailer":"\#(r)","visitor":"v\#(next() % 50_000)","listing":"\#(r)-\#(next() % 5000)","referrer":"https://961tech.example/search?q=rtx+4070","url":"https://\#(r).example/p/\#(next() % 5000)","user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"}"#)
        } else {
            let route = routes[Int(next() % UInt64(routes.count))]
            let status = next() % 100 < 2 ? 503 : 200
            lines.append(#"{"type":"http.request","ts":\#(ts),"route":"\#(route)","status":\#(status),"tenant":"t\#(next() % 20)","duration_ms":\#(Double(next() % 90_000) / 100),"method":"GET","host":"api-\#(next() % 8).internal","bytes_out":\#(next() % 100_000),"trace_id":"\#(String(next(), radix: 16))"}"#)
        }
        if lines.count == eventsPerMessage {
            payloads.append(Array(lines.joined(separator: "\n").utf8))
            lines.removeAll()
        }
    }
    return payloads
}

func shippedConfig() -> KpidConfig {
    var dir = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { dir.deleteLastPathComponent() }
    let path = dir.appendingPathComponent("conf/kpid.toml").path
    do { return try ConfigLoader.load(contentsOf: path) } catch { fatalError("cannot load \(path): \(error)") }
}

/// `config` without qualification pipelines and the metrics that read them.
func withoutQualification(_ config: KpidConfig) -> KpidConfig {
    var c = config
    c.pipelines = []
    c.metrics.removeAll { $0.pipeline != nil }
    return c
}

let benchmarks: @Sendable () -> Void = {
    let payloads = makePayloads()
    let config = shippedConfig()
    let unqualified = withoutQualification(config)
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
        let pipeline = try! IngestPipeline(config: config, clock: ManualClock(1_763_900_000_000))
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

    for (name, c) in [("decode + aggregate, shipped config", config),
                      ("decode + aggregate, shipped config without qualification (baseline)", unqualified)] {
        Benchmark(name) { benchmark in
            let pipeline = try! IngestPipeline(config: c, clock: ManualClock(1_763_900_000_000))
            for _ in benchmark.scaledIterations {
                for p in payloads {
                    p.withUnsafeBytes { b in pipeline.process(topic: nil, payload: b, source: 0) }
                }
            }
            blackHole(pipeline.flush().batch.rows.count)
        }
    }
}
