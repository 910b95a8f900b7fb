import KPIConfig
import KPICore
import XCTest

final class ConfigSummaryTests: XCTestCase {
    func testSummaryDescribesZoneTimingSourcesAndMetrics() throws {
        let config = try ConfigLoader.parse(exampleConfig)
        XCTAssertEqual(ConfigSummary.describe(config), """
        time zone: UTC
        allowed lateness: 1m, flush interval: 1s, max future: 10m
        decode ahead: on when more than one CPU
        storage: kpid.db (1000 reject samples per reason)
        limits: messages up to 1048576 bytes, 10000 events per frame, 256 fields per event, 65536-byte string fields, 256-byte reject samples
        sources (1):
          web (sub)
            bind: tcp://127.0.0.1:5555
            subscribe: "" (everything)
            receive high-water mark: 100000
        metrics (1):
          http_5xx
            events: http.request
            filter: status >= 500 and not prefix(route, "/health")
            aggregate: count
            group by: tenant
            windows: hour
            time zone: Asia/Beirut
        """)
    }

    func testSummaryShowsDefaultsAndPullSources() throws {
        let config = try ConfigLoader.parse("""
        [[sources]]
        name = "jobs"
        kind = "pull"
        connect = ["ipc:///run/kpid/events"]
        [[metrics]]
        name = "latency"
        events = ["job.done", "job.failed"]
        aggregate = "avg(duration_ms)"
        windows = ["minute", "day"]
        """)
        let summary = ConfigSummary.describe(config)
        XCTAssertTrue(summary.contains("  jobs (pull)\n    connect: ipc:///run/kpid/events\n    receive high-water mark: 100000"), summary)
        XCTAssertFalse(summary.contains("subscribe"), summary)
        XCTAssertTrue(summary.contains("events: job.done, job.failed"), summary)
        XCTAssertTrue(summary.contains("filter: (none, every event)"), summary)
        XCTAssertTrue(summary.contains("aggregate: avg(duration_ms)"), summary)
        XCTAssertTrue(summary.contains("windows: minute, day"), summary)
        XCTAssertTrue(summary.contains("time zone: UTC (global)"), summary)
    }

    func testAggregateConfigTextRoundTrips() {
        let specs: [AggregateSpec] = [.count, .sum("a"), .min("b.c"), .max("d-e"), .avg("odd name"), .distinct("x`y"),
                                      .quantile("ms", [0.5]), .quantile("a,b", [0.5, 0.95, 0.999]), .quantile("x`y", [1])]
        for spec in specs {
            XCTAssertEqual(AggregateSpec(configText: spec.configText), spec, spec.configText)
        }
        XCTAssertEqual(AggregateSpec.sum("odd name").configText, "sum(`odd name`)")
        XCTAssertNil(AggregateSpec(configText: "p95(x)"))
    }
}
