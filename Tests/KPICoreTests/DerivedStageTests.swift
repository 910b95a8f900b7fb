import XCTest
@testable import KPICore

/// A real window engine and a derived stage fed with its flushes, as the ingest pipeline does.
private final class DerivedHarness {
    let engine: WindowEngine
    let stage: DerivedStage
    /// Every row of every flush, derived rows included, in order.
    private(set) var flushed: [AggregateRow] = []

    init(metrics: [MetricDefinition], derived: [DerivedMetricDefinition], lateness: Int64 = 60_000,
         timeZone: String = "UTC") {
        var config = KpidConfig()
        config.trackSequences = false
        config.timeZone = timeZone
        config.allowedLatenessMillis = lateness
        config.metrics = metrics
        config.derivedMetrics = derived
        engine = WindowEngine(config: config)
        stage = DerivedStage(config: config)
    }

    func event(_ type: String, _ ts: EpochMillis, _ fields: [String: JSON] = [:]) {
        ingest(engine, type, at: ts, fields)
    }

    /// One flush: the engine's rows, then the stage's; returns the derived rows of `metric`.
    @discardableResult
    func flush(_ metric: String? = nil) -> [AggregateRow] {
        var batch = engine.flush()
        stage.process(&batch)
        flushed += batch.rows
        return batch.rows.filter { metric == nil || $0.metric == metric }
    }

    /// The newest row written for each (metric, period, window, labels): what SQLite would hold
    /// (a final row is never replaced).
    func stored(_ metric: String) -> [String: AggregateRow] {
        var out: [String: AggregateRow] = [:]
        for r in flushed where r.metric == metric {
            let k = "\(r.period)|\(Timestamp.formatRFC3339(r.windowStart))|\(r.labels)"
            if out[k]?.isFinal == true { continue }
            out[k] = r
        }
        return out
    }
}

private func key(_ period: CalendarPeriod, _ start: String, _ labels: String = "{}") -> String {
    "\(period.rawValue)|\(Timestamp.formatRFC3339(ms(start)))|\(labels)"
}

private let okFilter = FilterExpr.compare(field: "outcome", op: .equal, value: .string("ok"))

final class DerivedStageTests: XCTestCase {
    private func bookingMetrics(windows: [CalendarPeriod] = [.day]) -> [MetricDefinition] {
        [
            MetricDefinition(name: "attempts", events: ["booking"], aggregate: .count, groupBy: ["tenant"], windows: windows),
            MetricDefinition(name: "ok", events: ["booking"], filter: okFilter, aggregate: .count, groupBy: ["tenant"],
                             windows: windows),
            MetricDefinition(name: "interventions", events: ["admin"], aggregate: .count, groupBy: ["tenant"], windows: windows),
            MetricDefinition(name: "ticket_avg", events: ["booking"], filter: okFilter, aggregate: .avg("ticket"),
                             groupBy: ["tenant"], windows: windows),
        ]
    }

    func testRatioPercentAndDifferenceFollowTheirOperandsPerLabelSet() {
        let h = DerivedHarness(metrics: bookingMetrics(), derived: [
            DerivedMetricDefinition(name: "rate", expr: .ratio("ok", "attempts"), windows: [.day], groupBy: ["tenant"]),
            DerivedMetricDefinition(name: "pct", expr: .percent("ok", "attempts"), windows: [.day], groupBy: ["tenant"]),
            DerivedMetricDefinition(name: "failed", expr: .difference("attempts", "ok"), windows: [.day], groupBy: ["tenant"]),
        ])
        let t0 = ms("2026-05-10T09:00:00Z")
        let events: [(String, String)] = [("a", "ok"), ("a", "failed"), ("a", "ok"), ("a", "ok"), ("b", "failed"), ("b", "failed")]
        for (i, (tenant, outcome)) in events.enumerated() {
            h.event("booking", t0 + Int64(i) * 60_000, ["tenant": .string(tenant), "outcome": .string(outcome), "ticket": 10])
        }
        h.flush()
        for tenant in ["a", "b"] {
            let n = Double(events.filter { $0.0 == tenant }.count)
            let k = Double(events.filter { $0.0 == tenant && $0.1 == "ok" }.count)
            let labels = CanonicalLabels.json(["tenant": tenant])
            let rate = h.stored("rate")[key(.day, "2026-05-10T00:00:00Z", labels)]
            XCTAssertEqual(rate?.value, k / n, tenant)
            XCTAssertEqual(rate?.numerator, k, "a ratio carries its numerator")
            XCTAssertEqual(rate?.denominator, n, "and its denominator")
            XCTAssertEqual(rate?.samples, Int64(n), "samples of a ratio are the denominator's")
            XCTAssertNil(rate?.reason)
            XCTAssertEqual(h.stored("pct")[key(.day, "2026-05-10T00:00:00Z", labels)]?.value, 100 * (k / n))
            XCTAssertEqual(h.stored("failed")[key(.day, "2026-05-10T00:00:00Z", labels)]?.value, n - k)
        }
        XCTAssertEqual(h.stored("rate")[key(.day, "2026-05-10T00:00:00Z", #"{"tenant":"b"}"#)]?.value, 0,
                       "tenant b has no ok row: an absent count is 0, not missing")
    }

    func testDivisionByZeroStoresNoValueAndTheReasonWithBothCounts() {
        let h = DerivedHarness(metrics: bookingMetrics(), derived: [
            DerivedMetricDefinition(name: "intervention_rate", expr: .ratio("interventions", "attempts"), windows: [.day],
                                    groupBy: ["tenant"]),
        ])
        let t0 = ms("2026-05-10T09:00:00Z")
        h.event("admin", t0, ["tenant": "c"])
        h.event("admin", t0 + 1, ["tenant": "c"])
        let rows = h.flush("intervention_rate")
        XCTAssertEqual(rows.count, 1)
        XCTAssertNil(rows.first?.value)
        XCTAssertEqual(rows.first?.reason, DerivedReason.divisionByZero.rawValue)
        XCTAssertEqual(rows.first?.numerator, 2)
        XCTAssertEqual(rows.first?.denominator, 0, "tenant c had no booking: the absent count is 0")
        XCTAssertFalse(rows.contains { $0.value.map { !$0.isFinite } ?? false })
    }

    func testAnAbsentAverageIsAMissingOperandNotZero() {
        let h = DerivedHarness(metrics: bookingMetrics(), derived: [
            DerivedMetricDefinition(name: "ticket_per_attempt", expr: .ratio("ticket_avg", "attempts"), windows: [.day],
                                    groupBy: ["tenant"]),
        ])
        h.event("booking", ms("2026-05-10T09:00:00Z"), ["tenant": "a", "outcome": "failed", "ticket": 10])
        let rows = h.flush("ticket_per_attempt")
        XCTAssertEqual(rows.count, 1)
        XCTAssertNil(rows.first?.value)
        XCTAssertEqual(rows.first?.reason, DerivedReason.missingOperand.rawValue)
        XCTAssertNil(rows.first?.numerator)
        XCTAssertEqual(rows.first?.denominator, 1)
    }

    func testAnOperandThatDidNotChangeKeepsItsValueFromAnEarlierFlush() {
        let h = DerivedHarness(metrics: bookingMetrics(), derived: [
            DerivedMetricDefinition(name: "rate", expr: .ratio("ok", "attempts"), windows: [.day], groupBy: ["tenant"]),
        ])
        let t0 = ms("2026-05-10T09:00:00Z")
        h.event("booking", t0, ["tenant": "a", "outcome": "ok"])
        h.event("booking", t0 + 1, ["tenant": "a", "outcome": "ok"])
        h.flush()
        h.event("booking", t0 + 2, ["tenant": "a", "outcome": "failed"]) // only `attempts` changes
        let second = h.flush()
        XCTAssertFalse(second.contains { $0.metric == "ok" }, "ok did not change, so the engine did not re-emit it")
        let rate = second.first { $0.metric == "rate" }
        XCTAssertEqual(rate?.value, 2.0 / 3.0)
        XCTAssertEqual(rate?.numerator, 2)
    }

    func testDerivedRowsBecomeFinalWithTheirWindow() {
        let h = DerivedHarness(metrics: bookingMetrics(), derived: [
            DerivedMetricDefinition(name: "rate", expr: .ratio("ok", "attempts"), windows: [.day], groupBy: ["tenant"]),
        ])
        h.event("booking", ms("2026-05-10T23:50:00Z"), ["tenant": "a", "outcome": "ok"])
        XCTAssertEqual(h.flush("rate").map(\.isFinal), [false])
        h.event("booking", ms("2026-05-11T00:05:00Z"), ["tenant": "a", "outcome": "failed"]) // watermark 00:04
        let rows = h.flush("rate").sorted { $0.windowStart < $1.windowStart }
        XCTAssertEqual(rows.map(\.isFinal), [true, false])
        XCTAssertEqual(rows.map(\.value), [1, 0])
    }

    /// Weekly counts in Paris: weeks 1, 3 and 4 have events, week 2 none. Week 3's previous week is
    /// week 2 (no row), not week 1 (the last one seen).
    func testChangeAndDeltaReadTheWeekJustBeforeAndSayWhenItHadNoRow() {
        let zone = "Europe/Paris"
        let h = DerivedHarness(
            metrics: [MetricDefinition(name: "listings", events: ["listing"], aggregate: .count, groupBy: ["retailer"],
                                       windows: [.week], timeZone: zone)],
            derived: [
                DerivedMetricDefinition(name: "listings_change", expr: .change("listings"), windows: [.week],
                                        groupBy: ["retailer"], timeZone: zone),
                DerivedMetricDefinition(name: "listings_delta", expr: .delta("listings"), windows: [.week],
                                        groupBy: ["retailer"], timeZone: zone),
            ])
        // Mondays 00:00 Paris (UTC+1 in winter): 2026-11-30, 12-07, 12-14, 12-21.
        let weeks = ["2026-11-30T00:00:00+01:00", "2026-12-07T00:00:00+01:00", "2026-12-14T00:00:00+01:00",
                     "2026-12-21T00:00:00+01:00", "2026-12-28T00:00:00+01:00"]
        let counts = [3, 0, 5, 2]
        for (w, n) in counts.enumerated() {
            for i in 0..<n { h.event("listing", ms(weeks[w]) + Int64(i + 1) * 3_600_000, ["retailer": "acme"]) }
            h.flush()
        }
        h.event("listing", ms(weeks[4]) + 3_600_000, ["retailer": "other"]) // closes week 4
        h.flush()
        let labels = #"{"retailer":"acme"}"#
        let change = h.stored("listings_change"), delta = h.stored("listings_delta")
        XCTAssertEqual(change.values.filter { $0.labels == labels }.count, 3, "one row per week with listings")
        for (w, n) in counts.enumerated() where n > 0 {
            let c = change[key(.week, weeks[w], labels)]
            let d = delta[key(.week, weeks[w], labels)]
            XCTAssertEqual(c?.isFinal, true)
            XCTAssertEqual(c?.numerator, Double(n))
            if w > 0, counts[w - 1] > 0 {
                let p = Double(counts[w - 1])
                XCTAssertEqual(c?.value, (Double(n) - p) / p, "week \(w + 1)")
                XCTAssertEqual(d?.value, Double(n) - p)
                XCTAssertEqual(c?.denominator, p)
                XCTAssertNil(c?.reason)
            } else {
                XCTAssertNil(c?.value, "week \(w + 1)")
                XCTAssertEqual(c?.reason, DerivedReason.noPreviousWindow.rawValue, "week \(w + 1)")
                XCTAssertEqual(d?.reason, DerivedReason.noPreviousWindow.rawValue)
            }
        }
    }

    /// America/New_York ends DST on 2026-11-01: that day is 25 hours long and has two 01:00 hours.
    func testChangeFollowsTheCalendarAcrossTheEndOfDaylightSavingTime() {
        let zone = "America/New_York"
        let h = DerivedHarness(
            metrics: [MetricDefinition(name: "bookings", events: ["booking"], aggregate: .count, windows: [.hour, .day],
                                       timeZone: zone)],
            derived: [DerivedMetricDefinition(name: "bookings_delta", expr: .delta("bookings"), windows: [.hour, .day],
                                              timeZone: zone)])
        // 3 bookings on Oct 31, 5 on Nov 1 (2 in the first 01:00 EDT hour, 3 in the second, EST),
        // 4 on Nov 2.
        let times = ["2026-10-31T10:00:00-04:00", "2026-10-31T11:00:00-04:00", "2026-10-31T12:00:00-04:00",
                     "2026-11-01T01:10:00-04:00", "2026-11-01T01:20:00-04:00",
                     "2026-11-01T01:10:00-05:00", "2026-11-01T01:20:00-05:00", "2026-11-01T01:30:00-05:00",
                     "2026-11-02T09:00:00-05:00", "2026-11-02T10:00:00-05:00", "2026-11-02T11:00:00-05:00",
                     "2026-11-02T12:00:00-05:00", "2026-11-03T12:00:00-05:00"]
        for t in times {
            h.event("booking", ms(t))
            h.flush()
        }
        let delta = h.stored("bookings_delta")
        XCTAssertEqual(delta[key(.day, "2026-11-01T00:00:00-04:00")]?.value, 5 - 3)
        XCTAssertEqual(delta[key(.day, "2026-11-02T00:00:00-05:00")]?.value, 4 - 5,
                       "Nov 2 starts where the 25-hour Nov 1 ends")
        XCTAssertEqual(delta[key(.day, "2026-11-02T00:00:00-05:00")]?.isFinal, true)
        let secondOne = delta[key(.hour, "2026-11-01T01:00:00-05:00")]
        XCTAssertEqual(secondOne?.value, 3 - 2, "the second 01:00 hour follows the first one")
        XCTAssertEqual(secondOne?.denominator, 2)
        XCTAssertEqual(delta[key(.hour, "2026-11-01T01:00:00-04:00")]?.reason, DerivedReason.noPreviousWindow.rawValue,
                       "00:00 EDT had no booking")
    }

    func testDerivedOverDerivedIsEvaluatedAfterItsOperandWhateverTheConfigOrder() {
        let h = DerivedHarness(metrics: bookingMetrics(), derived: [
            DerivedMetricDefinition(name: "pct_delta", expr: .delta("pct"), windows: [.day], groupBy: ["tenant"]),
            DerivedMetricDefinition(name: "pct", expr: .percent("ok", "attempts"), windows: [.day], groupBy: ["tenant"]),
        ])
        let days = [("2026-05-10T10:00:00Z", ["ok", "failed"]), ("2026-05-11T10:00:00Z", ["ok", "ok", "ok", "failed"]),
                    ("2026-05-12T10:00:00Z", ["failed"])]
        for (start, outcomes) in days {
            for (i, o) in outcomes.enumerated() {
                h.event("booking", ms(start) + Int64(i) * 1000, ["tenant": "a", "outcome": .string(o)])
            }
            let rows = h.flush()
            let order = rows.map(\.metric)
            if let p = order.firstIndex(of: "pct"), let d = order.firstIndex(of: "pct_delta") {
                XCTAssertLessThan(p, d, "the operand's row comes first in the batch")
            }
        }
        func pct(_ outcomes: [String]) -> Double { 100 * Double(outcomes.filter { $0 == "ok" }.count) / Double(outcomes.count) }
        let stored = h.stored("pct_delta")
        let d2 = stored[key(.day, "2026-05-11T00:00:00Z", #"{"tenant":"a"}"#)]
        XCTAssertEqual(d2?.value ?? .nan, pct(days[1].1) - pct(days[0].1), accuracy: 1e-12)
        XCTAssertEqual(d2?.isFinal, true)
        XCTAssertEqual(stored[key(.day, "2026-05-10T00:00:00Z", #"{"tenant":"a"}"#)]?.reason, "no_previous_window")
    }

    func testAChangeIsRecomputedWhenThePreviousWindowStillOpenChanges() {
        let h = DerivedHarness(
            metrics: [MetricDefinition(name: "n", events: ["e"], aggregate: .count, windows: [.day])],
            derived: [DerivedMetricDefinition(name: "n_change", expr: .change("n"), windows: [.day])],
            lateness: 2 * 86_400_000)
        h.event("e", ms("2026-05-10T10:00:00Z"))
        h.event("e", ms("2026-05-10T11:00:00Z"))
        h.event("e", ms("2026-05-11T10:00:00Z"))
        let first = h.flush("n_change").first { $0.windowStart == ms("2026-05-11T00:00:00Z") }
        XCTAssertEqual(first?.value, (1 - 2) / 2.0, "the open previous day counts with its current value")
        h.event("e", ms("2026-05-10T12:00:00Z")) // a late (but allowed) event of the previous day
        let second = h.flush("n_change").first { $0.windowStart == ms("2026-05-11T00:00:00Z") }
        XCTAssertEqual(second?.value, (1 - 3) / 3.0, "re-emitted although day 2 itself did not change")
    }

    func testSeededFinalRowsServeAsThePreviousWindowAfterARestart() {
        let metrics = [MetricDefinition(name: "n", events: ["e"], aggregate: .count, groupBy: ["k"], windows: [.day])]
        let derived = [DerivedMetricDefinition(name: "n_change", expr: .change("n"), windows: [.day], groupBy: ["k"])]
        let before = DerivedHarness(metrics: metrics, derived: derived)
        for i in 0..<4 { before.event("e", ms("2026-05-10T10:00:00Z") + Int64(i), ["k": "x"]) }
        before.event("e", ms("2026-05-11T10:00:00Z"), ["k": "y"]) // closes May 10
        before.flush()
        let finals = before.flushed.filter { $0.isFinal && $0.metric == "n" }
        XCTAssertEqual(finals.count, 1)

        let after = DerivedHarness(metrics: metrics, derived: derived)
        XCTAssertEqual(after.stage.seedMetrics, ["n"])
        after.stage.seed(finals)
        for _ in 0..<6 { after.event("e", ms("2026-05-11T12:00:00Z"), ["k": "x"]) }
        let row = after.flush("n_change").first { $0.labels == #"{"k":"x"}"# }
        XCTAssertEqual(row?.value, (6 - 4) / 4.0)
        XCTAssertEqual(row?.denominator, 4)

        let unseeded = DerivedHarness(metrics: metrics, derived: derived)
        for _ in 0..<6 { unseeded.event("e", ms("2026-05-11T12:00:00Z"), ["k": "x"]) }
        XCTAssertEqual(unseeded.flush("n_change").first?.reason, "no_previous_window", "the seed is what made the difference")
    }

    func testShareIsEachLabelSetsPartOfTheWindowsTotalAndFollowsLaterFlushes() {
        let states = MetricDefinition(name: "by_state", events: ["listing"], aggregate: .count, groupBy: ["state"], windows: [.day])
        let h = DerivedHarness(metrics: [states],
                               derived: [DerivedMetricDefinition(name: "state_share", expr: .share("by_state"), windows: [.day],
                                                                 groupBy: ["state"])])
        let day = ms("2026-11-23T00:00:00Z")
        for (i, s) in ["listed", "listed", "listed", "out"].enumerated() { h.event("listing", day + Int64(i) * 1000, ["state": .string(s)]) }
        h.flush()
        var got = h.stored("state_share")
        XCTAssertEqual(got[key(.day, "2026-11-23T00:00:00Z", #"{"state":"listed"}"#)]?.value, 0.75)
        XCTAssertEqual(got[key(.day, "2026-11-23T00:00:00Z", #"{"state":"out"}"#)]?.value, 0.25)
        XCTAssertEqual(got[key(.day, "2026-11-23T00:00:00Z", #"{"state":"out"}"#)]?.denominator, 4)
        // A later flush with only a new state: every state's share of that day moves.
        h.event("listing", day + 10_000, ["state": .string("call_for_price")])
        XCTAssertEqual(h.flush("state_share").count, 3, "all three label sets of the window are rewritten")
        got = h.stored("state_share")
        XCTAssertEqual(got[key(.day, "2026-11-23T00:00:00Z", #"{"state":"listed"}"#)]?.value, 0.6)
        XCTAssertEqual(got[key(.day, "2026-11-23T00:00:00Z", #"{"state":"call_for_price"}"#)]?.value, 0.2)
        XCTAssertEqual(got[key(.day, "2026-11-23T00:00:00Z", #"{"state":"call_for_price"}"#)]?.numerator, 1)
        // Another day is its own total.
        h.event("listing", day + 86_400_000, ["state": .string("out")])
        h.flush()
        XCTAssertEqual(h.stored("state_share")[key(.day, "2026-11-24T00:00:00Z", #"{"state":"out"}"#)]?.value, 1)
    }

    func testMemoryStaysBoundedOverManyWindows() {
        let h = DerivedHarness(metrics: bookingMetrics(windows: [.hour]), derived: [
            DerivedMetricDefinition(name: "rate", expr: .ratio("ok", "attempts"), windows: [.hour], groupBy: ["tenant"]),
            DerivedMetricDefinition(name: "rate_delta", expr: .delta("rate"), windows: [.hour], groupBy: ["tenant"]),
        ])
        var peak = 0
        for hourIndex in 0..<500 {
            let t = ms("2026-05-10T00:00:00Z") + Int64(hourIndex) * 3_600_000
            for tenant in ["a", "b", "c"] {
                h.event("booking", t + 60_000, ["tenant": .string(tenant), "outcome": "ok"])
            }
            h.flush()
            peak = max(peak, h.stage.heldEntries)
        }
        // 3 operand series (ok, attempts, rate) × 3 tenants, each an open hour plus the last final one.
        XCTAssertGreaterThan(peak, 0)
        XCTAssertLessThanOrEqual(peak, 3 * 3 * 2)
    }
}
