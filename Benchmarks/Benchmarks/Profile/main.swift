import BenchmarkSupport
import KPICore
import KPIPipeline

// A plain driver over the same workload as the Pipeline benchmark, for profilers:
//
//   valgrind --tool=callgrind .build/release/Profile full 2
//   perf record -g .build/release/Profile decode 50
//
// Modes: `full` (decode + aggregate through IngestPipeline), `decode` (the decoder alone),
// `scan` (newline count). The second argument is the number of replays of the 100k events.
// Prints the events processed and a checksum so that nothing is optimised away.

let args = CommandLine.arguments
let mode = args.count > 1 ? args[1] : "full"
let rounds = args.count > 2 ? Int(args[2]) ?? 1 : 1
let payloads = Workload.payloads()
let config = Workload.shippedConfig()
let clock = ManualClock(Workload.clockMillis)
let pipeline = try IngestPipeline(config: config, clock: clock)
let decoder = EventDecoder(fields: pipeline.engine.catalog.names)
var events = 0
for _ in 0..<rounds {
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
if mode == "full" { events = Int(pipeline.counters.receivedTotal) }
print(mode, "events", events, "rows", pipeline.flush().batch.rows.count)
