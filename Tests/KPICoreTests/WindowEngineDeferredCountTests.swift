import XCTest
@testable import KPICore

/// Deferred counts (`WindowEngine+Counts.swift`): counting the qualification health streams with
/// ``WindowEngine/count(deferred:key:timestamp:slots:)`` and folding them in at the flush must
/// give, flush by flush, exactly what one ``WindowEngine/ingest(typeID:timestamp:slots:)`` per
/// event gives: the same rows, late events, overflows and checkpoints.
final class WindowEngineDeferredCountTests: XCTestCase {
    let hour: EpochMillis = 3_600_000

    /// Two pipelines and a raw metric; `cap` label sets per metric (the dropped stream has 6).
    func makeHealthEngine(cap: Int = 10_000) -> WindowEngine {
        var config = KpidConfig()
        config.trackSequences = false
        config.timeZone = "Asia/Beirut"
        config.allowedLatenessMillis = 600_000
        config.maxLabelSets = cap
        config.metrics = [MetricDefinition(name: "clicks", events: ["click"], aggregate: .count, windows: [.hour])]
        config.pipelines = [QualificationPipelineConfig(name: "qc", events: ["click"]),
                            QualificationPipelineConfig(name: "qc2", events: ["click"])]
        let engine = WindowEngine(config: config)
        engine.checkpointing = true
        return engine
    }

    /// One health event: pipeline `p`, and the filter that dropped it (nil: the input stream).
    struct HealthEvent {
        var ts: EpochMillis
        var pipeline: Int
        var filter: QualificationFilter?
    }

    /// Events over three days around hour and day boundaries: mostly in order, some out of order
    /// within the lateness, some late for the hour but not the day, some late for both.
    func events(seed: UInt64, count: Int = 20_000) -> [HealthEvent] {
        var rng = SplitMix64(seed: seed)
        var out: [HealthEvent] = []
        var t = ms("2026-03-27T20:00:00Z") // the night Beirut moves to summer time
        for _ in 0..<count {
            t += Int64(rng.next() % 40_000)
            var ts = t
            switch rng.next() % 20 {
            case 0: ts -= Int64(rng.next() % 500_000)                   // within the lateness
            case 1: ts -= 600_000 + Int64(rng.next() % UInt64(2 * hour))       // late for the hour at least
            case 2: ts -= 2 * 86_400_000                                 // late for the day too
            default: break
            }
            let p = Int(rng.next() % 2)
            let filter: QualificationFilter? = rng.next() % 3 == 0
                ? QualificationFilter.allCases[Int(rng.next() % UInt64(QualificationFilter.allCases.count))] : nil
            out.append(HealthEvent(ts: ts, pipeline: p, filter: filter))
        }
        return out
    }

    /// A checkpoint without its serials (the two engines number their cells in different orders).
    func comparable(_ c: EngineCheckpoint?) -> [String] {
        guard let c else { return ["none"] }
        var out = c.cells.map { "cell \($0.metric) \($0.lane) \($0.windowStart) \($0.windowEnd) \($0.labels) \($0.samples)" }
        out += c.labelSets.map { "labels \($0.0) \($0.1)" }
        out.append("removed \(c.removed.count)")
        out.append("max \(c.maxEventTime) moved \(c.maxEventTimeMoved)")
        return out.sorted()
    }

    /// Runs the events through an engine that ingests every health event and one that defers
    /// them, flushing both every `every` events, and compares everything after each flush.
    func assertSameAsIngest(_ evs: [HealthEvent], every: Int, cap: Int = 10_000,
                            file: StaticString = #filePath, line: UInt = #line) {
        let direct = makeHealthEngine(cap: cap), deferred = makeHealthEngine(cap: cap)
        let labels = HealthLabels(pipelines: ["qc", "qc2"])
        let click = direct.typeID("click")!
        var rows = 0
        func flushBoth() {
            let a = direct.flush(), b = deferred.flush()
            XCTAssertEqual(sortedRows(a), sortedRows(b), file: file, line: line)
            XCTAssertEqual(comparable(a.checkpoint), comparable(b.checkpoint), file: file, line: line)
            XCTAssertEqual(a.watermark, b.watermark, file: file, line: line)
            rows += a.rows.count
        }
        for (i, e) in evs.enumerated() {
            if i > 0, i % every == 0 { flushBoth() }
            let slots = labels.slots(pipeline: e.pipeline, filter: e.filter)
            let key = labels.key(pipeline: e.pipeline, filter: e.filter)
            let stream = e.filter == nil ? direct.healthInputStream : direct.healthDroppedStream
            for engine in [direct, deferred] {
                _ = engine.ingest(typeID: click, timestamp: e.ts, slots: labels.slots(pipeline: 0, filter: nil))
            }
            _ = direct.ingest(typeID: stream, timestamp: e.ts, slots: slots)
            deferred.count(deferred: stream, key: key, timestamp: e.ts, slots: slots)
        }
        flushBoth()
        XCTAssertEqual(direct.lateEvents, deferred.lateEvents, file: file, line: line)
        XCTAssertEqual(direct.labelOverflows, deferred.labelOverflows, file: file, line: line)
        XCTAssertEqual(direct.eventsCounted, deferred.eventsCounted, file: file, line: line)
        // Every window final: the last rows agree too.
        for engine in [direct, deferred] {
            _ = engine.ingest(typeID: click, timestamp: ms("2026-04-10T00:00:00Z"), slots: labels.slots(pipeline: 0, filter: nil))
        }
        flushBoth()
        XCTAssertGreaterThan(rows, 0, file: file, line: line)
    }

    func testDeferredHealthCountsGiveTheRowsAndCheckpointsOfOneIngestPerEvent() {
        let evs = events(seed: 7)
        let direct = makeHealthEngine()
        XCTAssertTrue(direct.canDeferCounts(direct.healthInputStream))
        XCTAssertTrue(direct.canDeferCounts(direct.healthDroppedStream))
        XCTAssertTrue(direct.canDeferCounts(direct.typeID("click")!)) // a plain count too
        assertSameAsIngest(evs, every: 500)
        assertSameAsIngest(evs, every: 37)
        assertSameAsIngest(events(seed: 8, count: 3_000), every: 3_001) // one flush, many windows
    }

    func testLateHealthEventsAreCountedLateAndNotFoldedIn() {
        let e = makeHealthEngine()
        let labels = HealthLabels(pipelines: ["qc", "qc2"])
        let input = e.healthInputStream, key = labels.key(pipeline: 0, filter: nil)
        let slots = labels.slots(pipeline: 0, filter: nil)
        let t = ms("2026-03-02T10:30:00Z")
        e.count(deferred: input, key: key, timestamp: t, slots: slots)
        e.count(deferred: input, key: key, timestamp: t + hour, slots: slots) // watermark 11:20: 10:00–11:00 final
        e.count(deferred: input, key: key, timestamp: t - 60_000, slots: slots) // late for its hour, not its day
        let rows = sortedRows(e.flush()).filter { $0.metric == QualificationHealth.inputMetric }
        XCTAssertEqual(rows.map(\.period), ["day", "hour", "hour"])
        XCTAssertEqual(rows.map(\.samples), [3, 1, 1])
        XCTAssertEqual(rows.map(\.isFinal), [false, true, false])
        XCTAssertEqual(e.lateEvents[e.metricNames.firstIndex(of: QualificationHealth.inputMetric)!], 1)
    }

    func testDeferredCountsOverTheLabelCapOverflowAsIngestDoes() {
        assertSameAsIngest(events(seed: 9, count: 4_000), every: 250, cap: 3)
    }

    func testAnEventInTheWindowsOfItsKeysLastEventIsLateOnceTheWatermarkPassedThem() {
        let e = makeHealthEngine()
        let labels = HealthLabels(pipelines: ["qc", "qc2"])
        let input = e.healthInputStream
        let t = ms("2026-03-02T10:30:00Z")
        func count(pipeline p: Int, at ts: EpochMillis) {
            e.count(deferred: input, key: labels.key(pipeline: p, filter: nil), timestamp: ts,
                    slots: labels.slots(pipeline: p, filter: nil))
        }
        count(pipeline: 0, at: t)
        count(pipeline: 1, at: t + hour)       // watermark 11:20: 10:00–11:00 is final
        count(pipeline: 0, at: t + 10 * 60_000) // 10:40, in the hour of pipeline 0's last event: late
        let rows = sortedRows(e.flush()).filter { $0.metric == QualificationHealth.inputMetric && $0.labels.contains("\"qc\"") }
        XCTAssertEqual(rows.map(\.period), ["day", "hour"])
        XCTAssertEqual(rows.map(\.samples), [2, 1])
        XCTAssertEqual(e.lateEvents[e.metricNames.firstIndex(of: QualificationHealth.inputMetric)!], 1)
    }
}
