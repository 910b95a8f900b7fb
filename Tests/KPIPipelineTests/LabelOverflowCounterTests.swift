import Foundation
import KPIConfig
import KPICore
import KPIPipeline
import XCTest

/// `max_label_sets` through the real ingest path: NDJSON in, the overflow row, the
/// `label_overflow{metric}` health counter and the per-window notice out.
final class LabelOverflowCounterTests: XCTestCase {
    private let t0: EpochMillis = 1_795_420_800_000

    func testOverflowedEventsAreCountedPerMetric() throws {
        let config = try ConfigLoader.parse("""
            [[sources]]
            name = "api"
            kind = "pull"
            bind = ["tcp://127.0.0.1:1"]
            [[metrics]]
            name = "by_tenant"
            events = ["http.request"]
            aggregate = "count"
            group_by = ["tenant"]
            windows = ["hour"]
            max_label_sets = 2
            [[metrics]]
            name = "all"
            events = ["http.request"]
            aggregate = "count"
            windows = ["hour"]
            """)
        let pipeline = try IngestPipeline(config: config, clock: ManualClock(t0))
        let lines = ["t1", "t2", "t3", "t1", "t4", "t3"].map { #"{"type":"http.request","ts":\#(t0),"tenant":"\#($0)"}"# }
        let payload = Array((lines.joined(separator: "\n")).utf8)
        payload.withUnsafeBytes { pipeline.process(topic: nil, payload: $0, source: 0) }
        let flush = pipeline.flush()
        let rows = Dictionary(uniqueKeysWithValues: flush.batch.rows.filter { $0.metric == "by_tenant" }.map { ($0.labels, $0.value) })
        XCTAssertEqual(rows, [#"{"tenant":"t1"}"#: 2, #"{"tenant":"t2"}"#: 1, #"{"__overflow__":"true"}"#: 3])
        XCTAssertEqual(flush.batch.rows.first { $0.metric == "all" }?.value, 6, "the other metric counts every event")
        let overflow = flush.counters.filter { $0.name == "label_overflow" }
        XCTAssertEqual(overflow.map(\.labels), [#"{"metric":"by_tenant"}"#])
        XCTAssertEqual(overflow.map(\.delta), [3])
        XCTAssertEqual(flush.batch.labelOverflows.map(\.metric), ["by_tenant"])
        // Counters are increments: nothing new, nothing reported.
        XCTAssertEqual(pipeline.flush().counters.filter { $0.name == "label_overflow" }.count, 0)
    }
}
