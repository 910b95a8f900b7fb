import Foundation
import BenchmarkSupport
import KPICore
import KPIPipeline

// A plain driver over the same workload as the Pipeline benchmark, for profilers:
//
//   valgrind --tool=callgrind .build/release/Profile full 2
//   perf record -g .build/release/Profile decode 50
//
// Modes: `full` (decode + aggregate through IngestPipeline), `fresh` (the same, a new pipeline per replay), `decode` (the decoder alone),
// `scan` (newline count). The second argument is the number of replays, the third the number of
// events per replay (default 100k; replayed clicks are duplicates, so profile qualification with
// one replay of many events).
// Mode `panes` instead measures the resident memory of rolling-window panes (see PaneMemory.swift).
// Prints the events processed and a checksum so that nothing is optimised away.

let args = CommandLine.arguments
let mode = args.count > 1 ? args[1] : "full"
let rounds = args.count > 2 ? Int(args[2]) ?? 1 : 1
if mode == "panes" {
    PaneMemory.run(labelSets: rounds > 1 ? rounds : 2_000)
    exit(0)
}
let payloads = Workload.payloads(events: args.count > 3 ? Int(args[3]) ?? Workload.eventsPerRun : Workload.eventsPerRun)
let config = Workload.shippedConfig()
let clock = ManualClock(Workload.clockMillis)
var pipeline = try! IngestPipeline(config: config, clock: clock)
let decoder = EventDecoder(fields: pipeline.engine.catalog.names)
var events = 0
for round in 0..<rounds {
    // `fresh`: like `full`, with a new pipeline per replay (fresh dedupe state), as the benchmark does.
    if mode == "fresh" && round > 0 { pipeline = try! IngestPipeline(config: config, clock: clock) }
    for p in payloads {
        p.withUnsafeBytes { b in
            switch mode {
            case "decode":
                decoder.load(b)
                while case .event = decoder.next() { events &+= 1 }
            case "scan":
                for byte in b where byte == 10 { events &+= 1 }
            default:
                pipeline.process(topic: nil, payload: b, source: 0)
            }
        }
    }
}
if mode == "full" || mode == "fresh" { events = Int(pipeline.counters.receivedTotal) }
print(mode, "events", events, "rows", pipeline.flush().batch.rows.count)
