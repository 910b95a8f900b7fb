import XCTest
@testable import KPICore

/// Rolling windows: panes of one `step`, values emitted at step boundaries over the `span`
/// before them, final once the watermark reaches the boundary.
final class RollingWindowTests: XCTestCase {
    private func rollingMetric(_ name: String = "r", aggregate: AggregateSpec = .count, groupBy: [String] = [],
                               span: Int64, step: Int64, spanText: String? = nil, windows: [CalendarPeriod] = []) -> MetricDefinition {
        MetricDefinition(name: name, events: ["e"], aggregate: aggregate, groupBy: groupBy, windows: windows,
                         rolling: RollingWindow(spanMillis: span, stepMillis: step, spanText: spanText))
    }

    /// A metric over `tick` events, whose only use is to move the watermark.
    private let ticks = MetricDefinition(name: "ticks", events: ["tick"], aggregate: .count, windows: [.day])

    private func rollingRows(_ batch: FlushBatch, final: Bool? = nil) -> [AggregateRow] {
        sortedRows(batch).filter { $0.period.hasPrefix("rolling:") && (final == nil || $0.isFinal == final) }
    }

    private func rolling(_ start: String, _ end: String, labels: String = "{}", value: Double?, samples: Int64,
                         final: Bool, metric: String = "r", period: String = "rolling:1h") -> AggregateRow {
        AggregateRow(metric: metric, period: period, windowStart: ms(start), windowEnd: ms(end), labels: labels,
                     value: value, samples: samples, isFinal: final)
    }

    func testValueAtABoundaryCoversTheSpanBeforeIt() {
        // rolling 1h, step 15m, no lateness: boundaries every quarter hour.
        let e = makeEngine([rollingMetric(span: hour, step: 15 * minute), ticks], lateness: 0)
        ingest(e, "e", at: ms("2026-05-10T12:05:00Z"))
        ingest(e, "e", at: ms("2026-05-10T12:20:00Z"))
        ingest(e, "e", at: ms("2026-05-10T12:59:59.999Z"))
        ingest(e, "tick", at: ms("2026-05-10T13:30:00Z"))
        XCTAssertEqual(rollingRows(e.flush(), final: true), [
            rolling("2026-05-10T11:15:00Z", "2026-05-10T12:15:00Z", value: 1, samples: 1, final: true),
            rolling("2026-05-10T11:30:00Z", "2026-05-10T12:30:00Z", value: 2, samples: 2, final: true),
            rolling("2026-05-10T11:45:00Z", "2026-05-10T12:45:00Z", value: 2, samples: 2, final: true),
            rolling("2026-05-10T12:00:00Z", "2026-05-10T13:00:00Z", value: 3, samples: 3, final: true),
            // 12:05 has left the window ending at 13:15.
            rolling("2026-05-10T12:15:00Z", "2026-05-10T13:15:00Z", value: 2, samples: 2, final: true),
            rolling("2026-05-10T12:30:00Z", "2026-05-10T13:30:00Z", value: 1, samples: 1, final: true),
        ])
    }

    func testBoundaryEventBelongsToTheNextWindow() {
        // Windows are half-open: an event at exactly 12:15 is not in the window ending at 12:15.
        let e = makeEngine([rollingMetric(span: hour, step: 15 * minute), ticks], lateness: 0)
        ingest(e, "e", at: ms("2026-05-10T12:15:00Z"))
        ingest(e, "tick", at: ms("2026-05-10T12:30:00Z"))
        XCTAssertEqual(rollingRows(e.flush(), final: true), [
            rolling("2026-05-10T11:30:00Z", "2026-05-10T12:30:00Z", value: 1, samples: 1, final: true),
        ])
    }

    func testLiveRowIsTheWindowEndingAfterTheNewestEvent() {
        let e = makeEngine([rollingMetric(aggregate: .sum("v"), groupBy: ["k"], span: hour, step: 15 * minute)])
        ingest(e, "e", at: ms("2026-05-10T12:05:00Z"), ["k": "a", "v": 2])
        ingest(e, "e", at: ms("2026-05-10T12:20:00Z"), ["k": "a", "v": 3])
        ingest(e, "e", at: ms("2026-05-10T12:21:00Z"), ["k": "b", "v": 7])
        // The watermark (12:20) passed the boundary 12:15: that window is final.
        XCTAssertEqual(rollingRows(e.flush()), [
            rolling("2026-05-10T11:15:00Z", "2026-05-10T12:15:00Z", labels: #"{"k":"a"}"#, value: 2, samples: 1, final: true),
            rolling("2026-05-10T11:30:00Z", "2026-05-10T12:30:00Z", labels: #"{"k":"a"}"#, value: 5, samples: 2, final: false),
            rolling("2026-05-10T11:30:00Z", "2026-05-10T12:30:00Z", labels: #"{"k":"b"}"#, value: 7, samples: 1, final: false),
        ])
        // Nothing changed: nothing to write.
        XCTAssertEqual(rollingRows(e.flush()), [])
        // Only the label set that changed is rewritten.
        ingest(e, "e", at: ms("2026-05-10T12:22:00Z"), ["k": "b", "v": 1])
        XCTAssertEqual(rollingRows(e.flush()), [
            rolling("2026-05-10T11:30:00Z", "2026-05-10T12:30:00Z", labels: #"{"k":"b"}"#, value: 8, samples: 2, final: false),
        ])
    }

    func testEventWhosePaneEndedBeforeTheWatermarkIsLate() {
        // Lateness 1m: at 12:31 the watermark is 12:30, so the pane [12:15, 12:30) is closed.
        let e = makeEngine([rollingMetric(span: hour, step: 15 * minute)])
        ingest(e, "e", at: ms("2026-05-10T12:31:00Z"))
        let late = ingest(e, "e", at: ms("2026-05-10T12:29:59Z"))
        XCTAssertEqual(late.late, 1)
        XCTAssertEqual(e.lateEvents, [1])
        // Still open: [12:30, 12:45).
        XCTAssertEqual(ingest(e, "e", at: ms("2026-05-10T12:30:00Z")).late, 0)
    }

    func testPeriodNamesTheConfiguredSpan() {
        let e = makeEngine([rollingMetric(span: 7 * day, step: hour, spanText: "7d")])
        ingest(e, "e", at: ms("2026-05-10T12:05:00Z"))
        let rows = rollingRows(e.flush())
        XCTAssertEqual(rows.map(\.period), ["rolling:7d"])
        XCTAssertEqual(rows.first?.windowEnd, ms("2026-05-10T13:00:00Z"))
        XCTAssertEqual(rows.first?.windowStart, ms("2026-05-03T13:00:00Z"))
    }

    func testCalendarWindowsOfTheSameMetricAreKept() {
        let e = makeEngine([rollingMetric(span: hour, step: 30 * minute, windows: [.hour])])
        ingest(e, "e", at: ms("2026-05-10T12:05:00Z"))
        let rows = sortedRows(e.flush())
        XCTAssertEqual(rows.map(\.period), ["hour", "rolling:1h"])
    }

    func testPanesLeavingTheSpanAreFreed() {
        // 10 panes per window: however long the stream, a label set holds the 10 panes the next
        // window needs plus those filled since the last flush (200 s of events: up to 4).
        let e = makeEngine([rollingMetric(groupBy: ["k"], span: 10 * minute, step: minute)], lateness: 0)
        var t = ms("2026-05-10T00:00:00Z")
        var most = 0
        for i in 0..<600 {
            ingest(e, "e", at: t, ["k": i % 2 == 0 ? "a" : "b"])
            t += 20 * second
            if i % 10 == 0 { _ = e.flush() }
            most = max(most, e.openCellCount)
        }
        XCTAssertLessThanOrEqual(most, 2 * (10 + 4))
        XCTAssertGreaterThanOrEqual(most, 2 * 10)
    }

    func testAWatermarkJumpEmitsOnlyWindowsWithData() {
        let e = makeEngine([rollingMetric(span: 10 * minute, step: minute), ticks], lateness: 0)
        ingest(e, "e", at: ms("2026-05-10T00:00:30Z"))
        ingest(e, "tick", at: ms("2026-05-20T00:00:00Z"))
        let rows = rollingRows(e.flush(), final: true)
        XCTAssertEqual(rows.count, 10)
        XCTAssertEqual(rows.first?.windowEnd, ms("2026-05-10T00:01:00Z"))
        XCTAssertEqual(rows.last?.windowEnd, ms("2026-05-10T00:10:00Z"))
        XCTAssertEqual(e.openCellCount, 1) // the tick's day window
    }

    func testDistinctMergesAcrossPanes() {
        let e = makeEngine([rollingMetric(aggregate: .distinct("u"), span: hour, step: 15 * minute), ticks], lateness: 0)
        ingest(e, "e", at: ms("2026-05-10T12:01:00Z"), ["u": "x"])
        ingest(e, "e", at: ms("2026-05-10T12:16:00Z"), ["u": "x"])
        ingest(e, "e", at: ms("2026-05-10T12:17:00Z"), ["u": "y"])
        ingest(e, "tick", at: ms("2026-05-10T12:30:00Z"))
        XCTAssertEqual(rollingRows(e.flush(), final: true).map(\.value), [1, 2])
    }

    // MARK: Randomized against recomputation

    private struct RawEvent {
        var ts: Int64
        var key: String
        var value: Int
        var user: Int
    }

    private struct Expected: Equatable, CustomStringConvertible {
        var value: Double?
        var samples: Int64
        var description: String { "\(value.map { "\($0)" } ?? "nil")/\(samples)" }
    }

    /// The aggregate of `events` by brute force, as a reference for the engine's merged panes.
    private func recompute(_ aggregate: AggregateSpec, _ events: [RawEvent]) -> Expected {
        let n = Int64(events.count)
        let values = events.map { Double($0.value) }
        switch aggregate {
        case .count: return Expected(value: Double(n), samples: n)
        case .sum: return Expected(value: values.reduce(0, +), samples: n)
        case .min: return Expected(value: values.min(), samples: n)
        case .max: return Expected(value: values.max(), samples: n)
        case .avg: return Expected(value: n == 0 ? nil : values.reduce(0, +) / Double(n), samples: n)
        case .distinct: return Expected(value: Double(Set(events.map(\.user)).count), samples: n)
        case .quantile: preconditionFailure("quantiles have their own rolling test (sketch error, negative values)")
        }
    }

    func testRollingQuantilesMergePaneSketchesWithinOnePercent() {
        // p50 and p95 over a rolling hour stepped every 5 minutes: each final window's rows (one per
        // quantile, labelled) are within 1% of the exact value at rank ceil(q·n) of its events.
        let metric = rollingMetric(aggregate: .quantile("v", [0.5, 0.95]), span: hour, step: 5 * minute)
        let e = makeEngine([metric, ticks], lateness: 0)
        let base = ms("2026-05-10T00:00:00Z")
        var rng = SeededRandom(seed: 7)
        var events: [(ts: Int64, v: Double)] = []
        var ts = base
        while ts < base + 3 * hour {
            ts += Int64(rng.next() % 20_000)
            let v = 1 + Double(rng.next() % 100_000) / 100 * (rng.next() % 10 == 0 ? 20 : 1)
            events.append((ts, v))
            ingest(e, "e", at: ts, ["v": .number(v)])
        }
        ingest(e, "tick", at: base + 6 * hour)
        let rows = rollingRows(e.flush(), final: true)
        var checked = 0
        for r in rows {
            let values = events.filter { $0.ts >= r.windowStart && $0.ts < r.windowEnd }.map(\.v).sorted()
            XCTAssertEqual(r.samples, Int64(values.count))
            XCTAssertTrue(r.estimated)
            for q in [0.5, 0.95] where r.labels == #"{"quantile":"\#(q)"}"# {
                let exact = values[max(1, Int((q * Double(values.count)).rounded(.up))) - 1]
                XCTAssertEqual(r.value!, exact, accuracy: exact * 0.01, "\(r)")
                checked += 1
            }
        }
        XCTAssertEqual(checked, rows.count, "every row is a p50 or a p95 row")
        XCTAssertGreaterThan(checked, 60)
    }

    func testRandomStreamsMatchRecomputationFromRawEvents() {
        let shapes: [(span: Int64, step: Int64)] = [(hour, 5 * minute), (10 * minute, 10 * second), (day, hour), (2 * minute, 2 * minute)]
        let aggregates: [AggregateSpec] = [.count, .sum("v"), .min("v"), .max("v"), .avg("v"), .distinct("u")]
        for seed in 1...12 {
            var rng = SeededRandom(seed: UInt64(seed))
            let shape = shapes[seed % shapes.count]
            let aggregate = aggregates[seed % aggregates.count]
            let lateness = Int64(rng.next() % 3) * minute
            check(seed: seed, shape: shape, aggregate: aggregate, lateness: lateness, rng: &rng)
        }
    }

    private func check(seed: Int, shape: (span: Int64, step: Int64), aggregate: AggregateSpec, lateness: Int64,
                       rng: inout SeededRandom) {
        let metric = rollingMetric(aggregate: aggregate, groupBy: ["k"], span: shape.span, step: shape.step)
        let e = makeEngine([metric, ticks], lateness: lateness)
        let base = ms("2026-05-10T00:00:00Z")
        let horizon = 3 * shape.span + 7 * shape.step
        var clock = base
        var maxSeen = Int64.min
        var accepted: [RawEvent] = []
        var finals: [String: (row: AggregateRow, acceptedWhenEmitted: Int)] = [:]
        let context = "seed \(seed) span \(shape.span) step \(shape.step) \(aggregate) lateness \(lateness)"

        func key(_ r: AggregateRow) -> String { "\(r.windowEnd)|\(r.labels)" }
        func inWindow(_ r: AggregateRow) -> [RawEvent] {
            accepted.filter { $0.ts >= r.windowStart && $0.ts < r.windowEnd && #"{"k":"\#($0.key)"}"# == r.labels }
        }
        var changed = Set<String>()
        func checkFlush() {
            var live = Set<String>()
            for r in e.flush().rows where r.metric == "r" {
                XCTAssertEqual(r.windowEnd - r.windowStart, shape.span, context)
                XCTAssertEqual(r.windowEnd % shape.step, 0, context)
                let expected = recompute(aggregate, inWindow(r))
                XCTAssertEqual(Expected(value: r.value, samples: r.samples), expected, "\(context) row \(r)")
                if r.isFinal {
                    XCTAssertNil(finals[key(r)], "\(context): final twice \(r)")
                    XCTAssertLessThanOrEqual(r.windowEnd, e.watermark, context)
                    finals[key(r)] = (r, accepted.count)
                } else {
                    XCTAssertGreaterThan(r.windowEnd, e.watermark, context)
                    live.insert(r.labels)
                }
            }
            // Live rows: exactly the label sets that changed and have events in the window ending
            // at the boundary after the largest time seen.
            if maxSeen != .min {
                let end = maxSeen - ((maxSeen % shape.step) + shape.step) % shape.step + shape.step
                let expected = Set(accepted.filter { changed.contains($0.key) && $0.ts >= end - shape.span && $0.ts < end }
                    .map { #"{"k":"\#($0.key)"}"# })
                XCTAssertEqual(live, expected, "\(context): live rows")
            }
            changed.removeAll()
        }

        while clock < base + horizon {
            // Mostly forward, sometimes back by up to twice the lateness (some of those are late).
            clock += Int64(rng.next() % UInt64(shape.step / 3 + 1))
            var ts = clock
            if rng.next() % 4 == 0 { ts -= Int64(rng.next() % UInt64(2 * lateness + shape.step)) }
            let ev = RawEvent(ts: ts, key: ["a", "b", "c"][Int(rng.next() % 3)], value: Int(rng.next() % 100) - 20,
                              user: Int(rng.next() % 20))
            // The reference's own lateness rule: late when the step that holds ts ended at or
            // before the watermark, counting this event's own time.
            maxSeen = max(maxSeen, ev.ts)
            let paneEnd = (ev.ts - ((ev.ts % shape.step) + shape.step) % shape.step) + shape.step
            let isLate = paneEnd <= maxSeen - lateness
            let out = ingest(e, "e", at: ev.ts, ["k": .string(ev.key), "v": .number(Double(ev.value)), "u": .number(Double(ev.user))])
            XCTAssertEqual(out.late > 0, isLate, "\(context) at \(ev.ts)")
            if !isLate {
                accepted.append(ev)
                changed.insert(ev.key)
            }
            if rng.next() % 25 == 0 { checkFlush() }
        }
        checkFlush()
        ingest(e, "tick", at: base + horizon + 2 * shape.span + lateness + shape.step)
        checkFlush()
        // Every window with data was emitted final once, and later events never changed it.
        var expectedKeys = Set<String>()
        for ev in accepted {
            let first = (ev.ts - ((ev.ts % shape.step) + shape.step) % shape.step) + shape.step
            var b = first
            while b < first + shape.span {
                expectedKeys.insert("\(b)|{\"k\":\"\(ev.key)\"}")
                b += shape.step
            }
        }
        XCTAssertEqual(Set(finals.keys), expectedKeys, context)
        for (_, f) in finals {
            XCTAssertEqual(Expected(value: f.row.value, samples: f.row.samples), recompute(aggregate, inWindow(f.row)),
                           "\(context): final row changed by later events \(f.row)")
        }
        XCTAssertEqual(e.openCellCount, 1, "\(context): only the tick's window stays open")
    }
}
