import Foundation
import KPIConfig
import KPICore
import XCTest

/// The example of the README, line for line.
let exampleConfig = """
[kpid]
time_zone = "UTC"            # IANA zone for calendar windows
allowed_lateness = "1m"
flush_interval = "1s"
max_future = "10m"

[storage]
path = "kpid.db"
reject_samples_per_reason = 1000

[limits]
max_message_bytes = 1048576
max_events_per_frame = 10000
reject_sample_bytes = 256

[[sources]]
name = "web"
kind = "sub"                 # sub | pull
bind = ["tcp://127.0.0.1:5555"]
connect = []
subscribe = [""]             # sub only
receive_hwm = 100000

[[metrics]]
name = "http_5xx"
events = ["http.request"]    # or a single string: events = "http.request"
filter = 'status >= 500 and not prefix(route, "/health")'
aggregate = "count"          # count | sum(f) | min(f) | max(f) | avg(f) | distinct(f)
group_by = ["tenant"]
windows = ["hour"]           # minute | hour | day | week | month
time_zone = "Asia/Beirut"    # optional per-metric zone

"""

final class ConfigLoaderTests: XCTestCase {
    func testExampleConfigCompilesToTheExpectedValues() throws {
        let config = try ConfigLoader.parse(exampleConfig)
        var expected = KpidConfig()
        expected.timeZone = "UTC"
        expected.allowedLatenessMillis = 60_000
        expected.flushIntervalMillis = 1_000
        expected.maxFutureMillis = 600_000
        expected.storage.path = "kpid.db"
        expected.storage.rejectSamplesPerReason = 1000
        expected.limits.maxMessageBytes = 1_048_576
        expected.limits.maxEventsPerFrame = 10_000
        expected.limits.rejectSampleBytes = 256
        var web = SourceConfig(name: "web", kind: .sub)
        web.bind = ["tcp://127.0.0.1:5555"]
        web.connect = []
        web.subscribe = [""]
        web.receiveHighWaterMark = 100_000
        expected.sources = [web]
        expected.metrics = [
            MetricDefinition(
                name: "http_5xx", events: ["http.request"],
                filter: .and(.compare(field: "status", op: .greaterOrEqual, value: .number(500)),
                             .not(.hasPrefix(field: "route", prefix: "/health"))),
                aggregate: .count, groupBy: ["tenant"], windows: [.hour], timeZone: "Asia/Beirut"),
        ]
        XCTAssertEqual(config, expected)
    }

    func testEveryAggregateFormAndNonDefaultValuesAreRead() throws {
        let text = """
        [kpid]
        time_zone = "Europe/Paris"
        allowed_lateness = "1h30m"
        flush_interval = "250ms"
        max_future = "1d"

        [storage]
        path = "/var/lib/kpid/kpid.db"
        reject_samples_per_reason = 0

        [limits]
        max_message_bytes = 4096
        max_events_per_frame = 1
        reject_sample_bytes = 0

        [[sources]]
        name = "jobs"
        kind = "pull"
        connect = ["ipc:///run/kpid/events", "tcp://10.0.0.1:6000"]
        receive_hwm = 0

        [[sources]]
        name = "web"
        kind = "sub"
        bind = "tcp://*:5555"
        subscribe = ["http.", "job."]

        [[metrics]]
        name = "latency_sum"
        events = "http.request"
        aggregate = "sum(latency_ms)"
        windows = ["minute", "hour", "day", "week", "month"]

        [[metrics]]
        name = "latency_min"
        events = ["http.request", "http.response"]
        aggregate = "min( latency_ms )"
        windows = "day"

        [[metrics]]
        name = "latency_max"
        events = ["http.request"]
        aggregate = "MAX(latency_ms)"
        windows = ["day"]

        [[metrics]]
        name = "latency_avg"
        events = ["http.request"]
        aggregate = "avg(`latency ms`)"
        windows = ["day"]

        [[metrics]]
        name = "users"
        events = ["login"]
        filter = ""
        aggregate = "distinct(user.id)"
        group_by = ["tenant", "country"]
        windows = ["week"]
        """
        let config = try ConfigLoader.parse(text)
        XCTAssertEqual(config.timeZone, "Europe/Paris")
        XCTAssertEqual(config.allowedLatenessMillis, 5_400_000)
        XCTAssertEqual(config.flushIntervalMillis, 250)
        XCTAssertEqual(config.maxFutureMillis, 86_400_000)
        XCTAssertEqual(config.storage.path, "/var/lib/kpid/kpid.db")
        XCTAssertEqual(config.storage.rejectSamplesPerReason, 0)
        XCTAssertEqual(config.limits.maxMessageBytes, 4096)
        XCTAssertEqual(config.limits.maxEventsPerFrame, 1)
        XCTAssertEqual(config.limits.rejectSampleBytes, 0)

        XCTAssertEqual(config.sources.map(\.name), ["jobs", "web"])
        XCTAssertEqual(config.sources[0].kind, .pull)
        XCTAssertEqual(config.sources[0].bind, [])
        XCTAssertEqual(config.sources[0].connect, ["ipc:///run/kpid/events", "tcp://10.0.0.1:6000"])
        XCTAssertEqual(config.sources[0].receiveHighWaterMark, 0)
        XCTAssertEqual(config.sources[1].bind, ["tcp://*:5555"])
        XCTAssertEqual(config.sources[1].subscribe, ["http.", "job."])
        XCTAssertEqual(config.sources[1].receiveHighWaterMark, 100_000)

        XCTAssertEqual(config.metrics.map(\.aggregate),
                       [.sum("latency_ms"), .min("latency_ms"), .max("latency_ms"), .avg("latency ms"), .distinct("user.id")])
        XCTAssertEqual(config.metrics[0].events, ["http.request"])
        XCTAssertEqual(config.metrics[0].windows, [.minute, .hour, .day, .week, .month])
        XCTAssertEqual(config.metrics[1].events, ["http.request", "http.response"])
        XCTAssertEqual(config.metrics[1].windows, [.day])
        XCTAssertNil(config.metrics[1].timeZone)
        XCTAssertNil(config.metrics[4].filter)
        XCTAssertEqual(config.metrics[4].groupBy, ["tenant", "country"])
    }

    func testDefaultsApplyWhenSectionsAreAbsent() throws {
        let text = """
        [[sources]]
        name = "web"
        kind = "sub"
        bind = ["tcp://127.0.0.1:5555"]

        [[metrics]]
        name = "events"
        events = ["e"]
        aggregate = "count"
        windows = ["hour"]
        """
        let config = try ConfigLoader.parse(text)
        let defaults = KpidConfig()
        XCTAssertEqual(config.timeZone, "UTC")
        XCTAssertEqual(config.allowedLatenessMillis, 60_000)
        XCTAssertEqual(config.flushIntervalMillis, 1_000)
        XCTAssertEqual(config.maxFutureMillis, 600_000)
        XCTAssertEqual(config.storage, defaults.storage)
        XCTAssertEqual(config.limits, defaults.limits)
        XCTAssertEqual(config.sources[0].subscribe, [""])
        XCTAssertEqual(config.sources[0].connect, [])
        XCTAssertEqual(config.sources[0].receiveHighWaterMark, 100_000)
        XCTAssertNil(config.metrics[0].filter)
        XCTAssertEqual(config.metrics[0].groupBy, [])
        XCTAssertNil(config.metrics[0].timeZone)
        XCTAssertNil(config.decodeAhead, "decode_ahead defaults to automatic (on with a second CPU)")
    }

    /// One PULL source and one count metric, after the tables a test puts before them.
    private let pullSourceAndMetric = """
        [[sources]]
        name = "s"
        kind = "pull"
        bind = ["inproc://events"]
        [[metrics]]
        name = "m"
        events = ["e"]
        aggregate = "count"
        windows = ["day"]
        """

    func testDecodeAheadIsReadAndMustBeABoolean() throws {
        let body = pullSourceAndMetric
        XCTAssertEqual(try ConfigLoader.parse("[kpid]\ndecode_ahead = false\n" + body).decodeAhead, false)
        XCTAssertEqual(try ConfigLoader.parse("[kpid]\ndecode_ahead = true\n" + body).decodeAhead, true)
        let (config, errors) = ConfigLoader.diagnose("[kpid]\ndecode_ahead = \"yes\"\n" + body)
        XCTAssertNil(config)
        XCTAssertEqual(errors.first?.key, "kpid.decode_ahead")
        XCTAssertEqual(errors.first?.line, 2)
    }

    func testDefaultsApplyToKeysMissingFromPresentSections() throws {
        let text = """
        [kpid]
        time_zone = "Asia/Tokyo"
        [storage]
        [limits]
        max_events_per_frame = 5

        """ + pullSourceAndMetric
        let config = try ConfigLoader.parse(text)
        XCTAssertEqual(config.timeZone, "Asia/Tokyo")
        XCTAssertEqual(config.flushIntervalMillis, 1_000)
        XCTAssertEqual(config.storage.path, "kpid.db")
        XCTAssertEqual(config.limits.maxEventsPerFrame, 5)
        XCTAssertEqual(config.limits.maxMessageBytes, 1 << 20)
    }

    func testInlineArraysOfTablesAreAccepted() throws {
        let text = """
        sources = [{ name = "s", kind = "pull", bind = ["tcp://127.0.0.1:1"] }]
        metrics = [
          { name = "m", events = "e", aggregate = "count", windows = ["hour"] },
        ]
        """
        let config = try ConfigLoader.parse(text)
        XCTAssertEqual(config.sources.count, 1)
        XCTAssertEqual(config.metrics.count, 1)
    }

    func testLoadReadsAFileAndNamesItInErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kpid-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = dir.appendingPathComponent("kpid.toml").path
        try exampleConfig.write(toFile: good, atomically: true, encoding: .utf8)
        XCTAssertEqual(try ConfigLoader.load(contentsOf: good).metrics.first?.name, "http_5xx")

        let bad = dir.appendingPathComponent("bad.toml").path
        try exampleConfig.replacingOccurrences(of: "aggregate = \"count\"", with: "aggregate = \"p95(x)\"")
            .write(toFile: bad, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try ConfigLoader.load(contentsOf: bad)) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.file, bad)
            XCTAssertEqual(e.line, 28)
            XCTAssertEqual(e.description, "\(bad):28: metrics[0].aggregate: unknown aggregate \"p95(x)\" (hint: one of count, sum(field), min(field), max(field), avg(field), distinct(field), quantile(field, 0.5, 0.95, ...), median(field))")
        }

        let missing = dir.appendingPathComponent("missing.toml").path
        XCTAssertThrowsError(try ConfigLoader.load(contentsOf: missing)) { error in
            let e = error as! ConfigError
            XCTAssertEqual(e.file, missing)
            XCTAssertNil(e.line)
            XCTAssertTrue(e.message.hasPrefix("cannot read the configuration"), e.message)
        }
    }

    func testDiagnoseReturnsEveryErrorInLineOrder() {
        let text = """
        [[metrics]]
        name = "m"
        events = ["e"]
        aggregate = "p95(x)"
        windows = ["hourly"]

        [kpid]
        flush_intervall = "1s"
        """
        let result = ConfigLoader.diagnose(text, file: "k.toml")
        XCTAssertNil(result.config)
        XCTAssertEqual(result.errors.map(\.key),
                       ["metrics[0].aggregate", "metrics[0].windows[0]", "kpid.flush_intervall", "sources"])
        XCTAssertEqual(result.errors.map(\.line), [4, 5, 8, nil])
    }

    func testExitCodeIsEXConfig() {
        XCTAssertEqual(ConfigError.exitCode, 78)
    }

    func testDescriptionLeavesOutUnknownParts() {
        XCTAssertEqual(ConfigError(key: "kpid.time_zone", line: 3, message: "m", hint: "h", file: "f.toml").description,
                       "f.toml:3: kpid.time_zone: m (hint: h)")
        XCTAssertEqual(ConfigError(key: "sources", line: nil, message: "m", file: "f.toml").description, "f.toml: sources: m")
        XCTAssertEqual(ConfigError(key: "", line: 2, message: "m").description, "line 2: m")
    }
}
