import XCTest
@testable import KPICore

/// Checkpoints of the window engine: applying every flush's checkpoint to a store and restoring
/// a new engine from it at any flush must give the same rows as an engine that never stopped.
final class WindowEngineCheckpointTests: XCTestCase {
    /// What a store does with checkpoints (the SQLite store does the same with tables; its own
    /// tests check that): cells upserted whole, distinct elements appended, freed cells deleted.
    struct CheckpointModel {
        var maxEventTime: EpochMillis = .min
        var nextSerial: Int64 = 1
        var cells: [Int64: CellCheckpoint] = [:]
        var distinct: [Int64: [UInt64]] = [:]
        var labels: [String: [String]] = [:]
        var rolling: [String: EpochMillis] = [:]
        var fingerprints: [String: String] = [:]

        mutating func apply(_ c: EngineCheckpoint) {
            maxEventTime = c.maxEventTime
            nextSerial = c.nextSerial
            fingerprints.merge(c.fingerprints) { $1 }
            for (m, l) in c.labelSets where !(labels[m] ?? []).contains(l) { labels[m, default: []].append(l) }
            for cell in c.cells {
                cells[cell.serial] = cell
                if cell.distinctMode == .estimated { distinct[cell.serial] = nil }
            }
            for (s, h) in zip(c.distinctSerials, c.distinctHashes) { distinct[s, default: []].append(h) }
            for s in c.removed {
                cells[s] = nil
                distinct[s] = nil
            }
            rolling.merge(c.rollingLastFinal) { $1 }
        }

        var state: EngineState {
            var s = EngineState()
            s.maxEventTime = maxEventTime
            s.nextSerial = nextSerial
            s.cells = cells.values.sorted { $0.serial < $1.serial }
            s.distinct = distinct
            s.labelSets = labels
            s.rollingLastFinal = rolling
            return s
        }
    }

    struct Event {
        var type: String
        var ts: EpochMillis
        var fields: [String: JSON]
    }

    /// Metrics of every kind the engine checkpoints: plain counts with a label cap (overflow),
    /// sums, an exact weekly distinct set, a distinct set that switches to HyperLogLog, quantile
    /// sketches, and rolling windows (count and distinct).
    let metrics: [MetricDefinition] = {
        var hll = MetricDefinition(name: "visitors_estimated", events: ["click"], aggregate: .distinct("visitor"), windows: [.day])
        hll.distinctExactMax = 40
        return [
            MetricDefinition(name: "clicks", events: ["click"], aggregate: .count, groupBy: ["retailer"], windows: [.hour, .day],
                             maxLabelSets: 4),
            MetricDefinition(name: "spend", events: ["click"], aggregate: .sum("price"), groupBy: ["retailer"], windows: [.day]),
            MetricDefinition(name: "weekly_visitors", events: ["click"], aggregate: .distinct("visitor"), windows: [.week]),
            hll,
            MetricDefinition(name: "latency", events: ["http"], aggregate: .quantile("ms", [0.5, 0.95]), groupBy: ["route"],
                             windows: [.hour]),
            MetricDefinition(name: "clicks_1h", events: ["click"], aggregate: .count, groupBy: ["retailer"], windows: [],
                             rolling: RollingWindow(spanMillis: 3_600_000, stepMillis: 600_000)),
            MetricDefinition(name: "visitors_1h", events: ["click"], aggregate: .distinct("visitor"), windows: [],
                             rolling: RollingWindow(spanMillis: 3_600_000, stepMillis: 600_000)),
        ]
    }()

    /// 12,000 events over 9 days, mostly in order, some out of order within the lateness and
    /// some late; six retailers for a cap of four.
    func events(seed: UInt64 = 42) -> [Event] {
        var rng = SplitMix64(seed: seed)
        var out: [Event] = []
        var t = ms("2026-03-02T00:00:00Z")
        for _ in 0..<12_000 {
            t += Int64(rng.next() % 130_000)
            var ts = t
            let jitter = rng.next() % 10
            if jitter == 0 { ts -= Int64(rng.next() % 50_000) }         // out of order, within the lateness
            if jitter == 1 { ts -= 600_000 + Int64(rng.next() % 600_000) } // late
            if rng.next() % 4 == 0 {
                out.append(Event(type: "http", ts: ts, fields: ["route": .string("/r\(rng.next() % 3)"),
                                                                 "ms": .number(Double(1 + rng.next() % 900))]))
            } else {
                out.append(Event(type: "click", ts: ts, fields: [
                    "retailer": .string("shop\(rng.next() % 6)"), "visitor": .string("v\(rng.next() % 300)"),
                    "price": .number(Double(rng.next() % 100)),
                ]))
            }
        }
        return out
    }

    typealias RowKey = String

    /// Runs the events through an engine flushed every `every` events; at each index in
    /// `restartsAt` (a flush boundary) the engine is dropped and a new one restored from the
    /// checkpoints. Returns the last value written per row, and the final rows in order.
    func run(_ events: [Event], every: Int, restartsAt: Set<Int>) -> (last: [RowKey: AggregateRow], restored: Int) {
        var model = CheckpointModel()
        var engine = makeEngine(metrics, lateness: 60_000)
        engine.checkpointing = true
        var last: [RowKey: AggregateRow] = [:]
        var restored = 0
        func flush() {
            let b = engine.flush()
            for r in b.rows {
                let k = "\(r.metric)|\(r.period)|\(r.windowStart)|\(r.labels)"
                if let prior = last[k], prior.isFinal { XCTFail("final row \(k) written again"); continue }
                last[k] = r
            }
            if let c = b.checkpoint { model.apply(c) }
        }
        for (i, e) in events.enumerated() {
            if i > 0, i % every == 0 {
                flush()
                if restartsAt.contains(i) {
                    engine = makeEngine(metrics, lateness: 60_000)
                    let s = engine.restore(model.state)
                    XCTAssertEqual(s.skipped, 0)
                    restored += s.cells
                    engine.checkpointing = true
                }
            }
            ingest(engine, e.type, at: e.ts, e.fields)
        }
        flush()
        // Push the watermark past every window so every row is final.
        ingest(engine, "click", at: ms("2026-03-30T00:00:00Z"), ["retailer": "shop0", "visitor": "v0", "price": 1])
        flush()
        return (last, restored)
    }

    func testRestoringAtAnyFlushGivesTheRowsOfAnEngineThatNeverStopped() {
        let evs = events()
        let reference = run(evs, every: 500, restartsAt: []).last
        let restarted = run(evs, every: 500, restartsAt: [1_000, 3_500, 6_000, 6_500, 9_000, 11_500])
        XCTAssertGreaterThan(restarted.restored, 100, "the restarts restored state")
        XCTAssertEqual(restarted.last.count, reference.count)
        for (k, r) in reference {
            XCTAssertEqual(restarted.last[k], r, k)
        }
        // The scenario covers what it claims to: overflow, estimates, quantiles, rolling, late events.
        XCTAssertTrue(reference.keys.contains { $0.hasPrefix("clicks|") && $0.contains("__overflow__") })
        XCTAssertTrue(reference.values.contains { $0.metric == "visitors_estimated" && $0.estimated })
        XCTAssertTrue(reference.values.contains { $0.metric == "latency" })
        XCTAssertTrue(reference.values.contains { $0.metric == "visitors_1h" && $0.period.hasPrefix("rolling") && $0.isFinal })
    }

    func testACheckpointWritesOnlyTheDistinctElementsAddedSinceThePreviousOne() {
        let e = makeEngine([metrics[2]])
        e.checkpointing = true
        let t = ms("2026-03-03T10:00:00Z")
        for i in 0..<1_000 { ingest(e, "click", at: t + Int64(i), ["visitor": .string("v\(i)")]) }
        let first = e.flush().checkpoint!
        XCTAssertEqual(first.distinctHashes.count, 1_000)
        XCTAssertEqual(first.cells.count, 1)
        XCTAssertEqual(first.fingerprints.keys.sorted(), ["weekly_visitors"])
        for i in 990..<1_010 { ingest(e, "click", at: t + 5_000, ["visitor": .string("v\(i)")]) }
        let second = e.flush().checkpoint!
        XCTAssertEqual(second.distinctHashes.count, 10, "only the 10 new visitors")
        XCTAssertEqual(second.cells.map(\.samples), [1_020])
        XCTAssertTrue(second.fingerprints.isEmpty, "fingerprints once")
        let idle = e.flush().checkpoint!
        XCTAssertTrue(idle.isEmpty)
    }

    func testAFinalWindowIsRemovedFromTheCheckpointedState() {
        let e = makeEngine([metrics[0]], lateness: 0)
        e.checkpointing = true
        ingest(e, "click", at: ms("2026-03-03T10:00:00Z"), ["retailer": "a"])
        let first = e.flush().checkpoint!
        XCTAssertEqual(Set(first.cells.map(\.lane)), [Int32(CalendarPeriod.hour.index), Int32(CalendarPeriod.day.index)])
        ingest(e, "click", at: ms("2026-03-03T11:00:00Z"), ["retailer": "a"])
        let second = e.flush().checkpoint!
        let hourCell = first.cells.first { $0.lane == Int32(CalendarPeriod.hour.index) }!
        XCTAssertEqual(second.removed, [hourCell.serial], "the 10:00 hour is final and gone")
        XCTAssertEqual(second.labelSets.count, 0, "label set a was admitted once")
        XCTAssertEqual(first.labelSets.map(\.labels), [#"{"retailer":"a"}"#])
    }

    func testFingerprintsChangeWithTheDefinitionAndTheEffectiveZone() {
        let a = makeEngine([metrics[0]]).fingerprints
        XCTAssertEqual(a, makeEngine([metrics[0]]).fingerprints, "stable")
        var changed = metrics[0]
        changed.windows = [.hour]
        XCTAssertNotEqual(a["clicks"], makeEngine([changed]).fingerprints["clicks"])
        XCTAssertNotEqual(a["clicks"], makeEngine([metrics[0]], timeZone: "Asia/Beirut").fingerprints["clicks"])
        XCTAssertEqual(a["clicks"]?.count, 16)
    }

    func testSketchBlobsRoundTrip() {
        let q = QuantileSketch()
        defer { q.release() }
        for i in 1...5_000 { q.insert(Double(i % 977) * 0.37) }
        q.insert(0)
        let back = QuantileSketch(checkpoint: q.checkpointBytes)!
        defer { back.release() }
        for p in [0.01, 0.5, 0.9, 0.95, 0.99, 1.0] { XCTAssertEqual(back.quantile(p), q.quantile(p)) }
        back.insert(1e6)
        XCTAssertEqual(back.max, 1e6, "a restored sketch grows")
        XCTAssertNil(QuantileSketch(checkpoint: Array(q.checkpointBytes.dropLast())))

        let h = HyperLogLog()
        defer { h.release() }
        var rng = SplitMix64(seed: 7)
        for _ in 0..<200_000 { h.insert(rng.next()) }
        let hb = HyperLogLog(checkpoint: h.checkpointBytes)!
        defer { hb.release() }
        XCTAssertEqual(hb.estimate, h.estimate)
        XCTAssertEqual(hb.keptHistogram, h.keptHistogram)
        XCTAssertNil(HyperLogLog(checkpoint: [1, 2, 3]))
    }
}
