import Foundation
import GRDB
import KPICore
import XCTest
@testable import KPIStore

/// The checkpointed state in a real SQLite file: what flushes write is what a restart loads.
final class StateStoreTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpistate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    var path: String { dir.appendingPathComponent("kpid.db").path }

    func cell(_ serial: Int64, metric: String = "visitors", samples: Int64, mode: CellCheckpoint.DistinctMode = .exact,
              estimate: [UInt8]? = nil, sketch: [UInt8]? = nil) -> CellCheckpoint {
        CellCheckpoint(serial: serial, metric: metric, lane: 3, windowStart: 1_000, windowEnd: 2_000, labels: #"{"r":"a"}"#,
                       samples: samples, sum: 0, min: samples == 0 ? .infinity : 1, max: samples == 0 ? -.infinity : 9,
                       distinctMode: mode, estimate: estimate, sketch: sketch)
    }

    func write(_ store: KPIStore, _ state: StateCheckpoint) throws {
        var f = KPIStore.Flush(batch: FlushBatch(watermark: 0), now: 1)
        f.state = state
        XCTAssertFalse(f.isEmpty)
        try store.write(f)
    }

    func testCheckpointsAppliedInOrderLoadAsTheirSum() throws {
        let store = try KPIStore(path: path)
        var e = EngineCheckpoint(maxEventTime: 5_000, nextSerial: 3)
        e.maxEventTimeMoved = true
        e.fingerprints = ["visitors": "f1", "latency": "f2"]
        e.cells = [cell(1, samples: 2), cell(2, metric: "latency", samples: 1, mode: .none, sketch: [1, 2, 3])]
        e.distinctSerials = [1, 1]
        e.distinctHashes = [7, UInt64.max]
        e.labelSets = [("visitors", #"{"r":"a"}"#), ("visitors", #"{"r":"b"}"#)]
        var first = StateCheckpoint(engine: e)
        var d = DedupeCheckpoint(pipeline: "q")
        d.keys = [11, 12]
        d.times = [100, 200]
        first.dedupe = [d]
        first.sequences = [("web-1", 41)]
        try write(store, first)

        var e2 = EngineCheckpoint(maxEventTime: 9_000, nextSerial: 4)
        e2.maxEventTimeMoved = true
        e2.cells = [cell(1, samples: 3), cell(3, samples: 1)]
        e2.distinctSerials = [1, 3]
        e2.distinctHashes = [8, 9]
        e2.removed = [2]
        e2.labelSets = [("visitors", #"{"r":"a"}"#)] // already there: no duplicate
        var second = StateCheckpoint(engine: e2)
        var d2 = DedupeCheckpoint(pipeline: "q")
        d2.keys = [12, 13]
        d2.times = [150, 400] // 12 keeps its later time
        d2.expiredThrough = 100
        second.dedupe = [d2]
        second.sequences = [("web-1", 42)]
        try write(store, second)

        let s = try store.loadState(fingerprints: ["visitors": "f1", "latency": "f2"], pipelines: ["q"])
        XCTAssertEqual(s.engine.maxEventTime, 9_000)
        XCTAssertEqual(s.engine.nextSerial, 4)
        XCTAssertEqual(s.engine.cells, [cell(1, samples: 3), cell(3, samples: 1)])
        XCTAssertEqual(s.engine.distinct[1].map { Set($0) }, [7, UInt64.max, 8])
        XCTAssertEqual(s.engine.distinct[3], [9])
        XCTAssertNil(s.engine.distinct[2])
        XCTAssertEqual(s.engine.labelSets["visitors"], [#"{"r":"a"}"#, #"{"r":"b"}"#])
        // Key 11 expired (counted at 100, cutoff 100); 12 was counted twice, in order: a restore
        // keeps the later time of a key (DuplicateClickWindow.restore).
        XCTAssertEqual(s.dedupe["q"]?.keys, [12, 12, 13])
        XCTAssertEqual(s.dedupe["q"]?.times, [200, 150, 400])
        XCTAssertEqual(s.sequences.map(\.src), ["web-1"])
        XCTAssertEqual(s.sequences.map(\.last), [42])
    }

    func testAnEstimateReplacesTheExactElementsOfItsCell() throws {
        let store = try KPIStore(path: path)
        var e = EngineCheckpoint(maxEventTime: 1, nextSerial: 2)
        e.fingerprints = ["visitors": "f"]
        e.cells = [cell(1, samples: 2)]
        e.distinctSerials = [1, 1]
        e.distinctHashes = [1, 2]
        try write(store, StateCheckpoint(engine: e))
        var e2 = EngineCheckpoint(maxEventTime: 1, nextSerial: 2)
        e2.cells = [cell(1, samples: 3, mode: .estimated, estimate: [1, 0, 0])]
        try write(store, StateCheckpoint(engine: e2))
        let s = try store.loadState(fingerprints: ["visitors": "f"], pipelines: [])
        XCTAssertNil(s.engine.distinct[1])
        XCTAssertEqual(s.engine.cells.first?.estimate, [1, 0, 0])
        XCTAssertEqual(s.engine.cells.first?.distinctMode, .estimated)
    }

    func testAChangedOrRemovedMetricAndARemovedPipelineLoseTheirState() throws {
        let store = try KPIStore(path: path)
        var e = EngineCheckpoint(maxEventTime: 1, nextSerial: 4)
        e.fingerprints = ["visitors": "f1", "gone": "f2", "kept": "f3"]
        e.cells = [cell(1, samples: 1), cell(2, metric: "gone", samples: 1), cell(3, metric: "kept", samples: 1, mode: .none)]
        e.distinctSerials = [1]
        e.distinctHashes = [5]
        e.labelSets = [("visitors", "{}"), ("kept", "{}")]
        var c = StateCheckpoint(engine: e)
        var d = DedupeCheckpoint(pipeline: "old")
        d.keys = [1]
        d.times = [1]
        c.dedupe = [d]
        try write(store, c)
        let s = try store.loadState(fingerprints: ["visitors": "CHANGED", "kept": "f3", "new": "f4"], pipelines: ["other"])
        XCTAssertEqual(s.engine.cells.map(\.metric), ["kept"])
        XCTAssertTrue(s.engine.distinct.isEmpty)
        XCTAssertEqual(Array(s.engine.labelSets.keys), ["kept"])
        XCTAssertTrue(s.dedupe.isEmpty)
        // The deletions are committed: a second load (after the next start) agrees.
        let again = try store.loadState(fingerprints: ["visitors": "CHANGED", "kept": "f3"], pipelines: ["other"])
        XCTAssertEqual(again.engine.cells.map(\.metric), ["kept"])
        let rows = try store.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM state_distinct") }
        XCTAssertEqual(rows, 0)
    }

    func testAnEmptyStateCheckpointMakesAnEmptyFlush() {
        var f = KPIStore.Flush(batch: FlushBatch(watermark: 0), now: 1)
        f.state = StateCheckpoint(engine: EngineCheckpoint(maxEventTime: .min, nextSerial: 1))
        XCTAssertTrue(f.isEmpty)
    }
}
