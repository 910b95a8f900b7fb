import Foundation
import KPICore
import KPIPipeline

/// Resident bytes of rolling-window panes: a `rolling = "7d"`, `step = "1h"` count grouped by
/// one field, filled through the real ingest path. The label sets and their first pane are
/// created first, so the second measurement holds only the remaining 167 panes per label set.
///
///     .build/release/Profile panes 2000
enum PaneMemory {
    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        return (Int(fields[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    static func run(labelSets: Int) {
        let hour: Int64 = 3_600_000
        var config = KpidConfig()
        config.maxLabelSets = labelSets + 1
        config.metrics = [MetricDefinition(name: "r", events: ["e"], aggregate: .sum("v"), groupBy: ["k"], windows: [],
                                           rolling: RollingWindow(spanMillis: 168 * hour, stepMillis: hour, spanText: "7d"))]
        let base: Int64 = 1_763_856_000_000
        func payloads(_ panes: Range<Int>) -> [[UInt8]] {
            panes.map { p in
                Array((0..<labelSets).map { g in #"{"type":"e","ts":\#(base + Int64(p) * hour),"k":"g\#(g)","v":1}"# }
                    .joined(separator: "\n").utf8)
            }
        }
        let first = payloads(0..<1), rest = payloads(1..<168)
        let pipeline = try! IngestPipeline(config: config, clock: ManualClock(base + 200 * hour))
        for p in first { p.withUnsafeBytes { pipeline.process(topic: nil, payload: $0, source: 0) } }
        _ = pipeline.flush()
        let before = residentBytes()
        for p in rest { p.withUnsafeBytes { pipeline.process(topic: nil, payload: $0, source: 0) } }
        let after = residentBytes()
        let cells = labelSets * 167
        let perPane = Double(after - before) / Double(cells)
        print("label sets \(labelSets), pane cells added \(cells), open cells \(pipeline.engine.openCellCount)")
        print(String(format: "resident bytes per pane cell: %.1f; per 7d/1h pane set (168 panes): %.0f", perPane, perPane * 168))
    }
}
