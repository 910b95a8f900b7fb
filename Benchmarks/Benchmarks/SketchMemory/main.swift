import BenchmarkSupport
import Foundation
import KPICore

// Resident memory of the sketch structures, measured through the engine: the growth of the
// process's resident set (VmRSS, /proc/self/statm) while an engine folds events in, divided by
// the number of elements or cells. Each figure subtracts a baseline engine with the same label
// sets and a `count` aggregate, so that label tables and cells are not counted.
//
//   cd Benchmarks && swift run -c release SketchMemory

func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Engines kept alive to the end, so that no measurement reuses memory another one freed.
nonisolated(unsafe) var keep: [SketchEvents] = []

/// Resident bytes gained while `events` events (prepared beforehand) are folded into an engine
/// for `aggregate`; the engine is kept alive to the end of the program.
func growth(_ aggregate: AggregateSpec, groupBy: [String], exactMax: Int, events: Int, users: Int, tenants: Int) -> Int {
    let e = SketchEvents(config: SketchEvents.config(aggregate, groupBy: groupBy, exactMax: exactMax),
                         count: events, users: users, tenants: tenants)
    let before = residentBytes()
    e.ingestAll()
    let after = residentBytes()
    keep.append(e)
    return after - before
}

let million = 1_000_000
let exact = growth(.distinct("user"), groupBy: [], exactMax: 2 * million, events: million, users: million, tenants: 1)
let exactBase = growth(.count, groupBy: [], exactMax: 1, events: million, users: million, tenants: 1)
print("exact distinct set: \(million) distinct values in one cell: \(exact - exactBase) B resident, \(String(format: "%.2f", Double(exact - exactBase) / Double(million))) B per element")

let cells = 2_000
let hll = growth(.distinct("user"), groupBy: ["tenant"], exactMax: 1, events: 20 * cells, users: 20 * cells, tenants: cells)
let hllBase = growth(.count, groupBy: ["tenant"], exactMax: 1, events: 20 * cells, users: 20 * cells, tenants: cells)
print("HyperLogLog: \(cells) cells: \(hll - hllBase) B resident, \((hll - hllBase) / cells) B per sketch")

let perCell = 1_000
let sketch = growth(.quantile("duration_ms", [0.5, 0.95, 0.99]), groupBy: ["tenant"], exactMax: 1,
                    events: perCell * cells, users: 1, tenants: cells)
let sketchBase = growth(.count, groupBy: ["tenant"], exactMax: 1, events: perCell * cells, users: 1, tenants: cells)
print("quantile sketch (lognormal ms, median 30 ms, \(perCell) values each): \(cells) cells: \(sketch - sketchBase) B resident, \((sketch - sketchBase) / cells) B per sketch")
