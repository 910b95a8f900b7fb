import KPIConfig
import KPICore
import XCTest

/// `quantile(f, …)`, `median(f)` and `distinct_exact_max` in `kpid.toml`.
final class SketchConfigTests: XCTestCase {
    private func config(kpid: String = "", metric: String) -> String {
        """
        [kpid]
        time_zone = "UTC"
        \(kpid)

        [[sources]]
        name = "web"
        kind = "sub"
        bind = ["tcp://127.0.0.1:5555"]

        [[metrics]]
        name = "latency"
        events = ["http"]
        windows = ["hour"]
        \(metric)
        """
    }

    private func firstError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError? {
        do {
            let c = try ConfigLoader.parse(text, file: "k.toml")
            XCTFail("compiled: \(c.metrics)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    func testQuantileAndMedianCompile() throws {
        var c = try ConfigLoader.parse(config(metric: #"aggregate = "quantile(duration_ms, 0.99, 0.5, 0.95)""#))
        XCTAssertEqual(c.metrics[0].aggregate, .quantile("duration_ms", [0.5, 0.95, 0.99]))
        c = try ConfigLoader.parse(config(metric: #"aggregate = "MEDIAN( `odd, name` )""#))
        XCTAssertEqual(c.metrics[0].aggregate, .quantile("odd, name", [0.5]))
        XCTAssertEqual(c.metrics[0].aggregate.configText, "median(`odd, name`)")
        c = try ConfigLoader.parse(config(metric: #"aggregate = "quantile(`a,b`, 1)""#))
        XCTAssertEqual(c.metrics[0].aggregate, .quantile("a,b", [1]))
    }

    func testBadQuantilesNameTheKeyAndLine() {
        let cases: [(String, String, String?)] = [
            ("quantile(ms, 1.5)", "quantile 1.5 is out of range", "each quantile is in (0, 1]"),
            ("quantile(ms, 0)", "quantile 0 is out of range", "each quantile is in (0, 1]"),
            ("quantile(ms, 95)", "quantile 95 is out of range", "for a percentile write 0.95"),
            ("quantile(ms, -0.5)", "out of range", nil),
            ("quantile(ms, p95)", "quantile \"p95\" is not a number", nil),
            ("quantile(ms, 0.5, 0.5)", "quantile 0.5 is listed twice", nil),
            ("quantile(ms)", "quantile needs at least one quantile after the field", "median(ms)"),
            ("quantile(0.95)", "quantile needs a field first, found the number 0.95", "quantile(field, q1, q2, ...)"),
            ("quantile(0.5, 0.95)", "quantile needs a field first", nil),
            ("quantile()", "quantile needs a field", "quantile(latency_ms, 0.5, 0.95)"),
            ("median()", "median needs a field", nil),
            ("median", "median needs a field", nil),
            ("quantile(ms, 0.5,)", "quantile \"\" is not a number", nil),
        ]
        for (aggregate, message, hint) in cases {
            guard let e = firstError(config(metric: "aggregate = \"\(aggregate)\"")) else { continue }
            XCTAssertEqual(e.key, "metrics[0].aggregate", aggregate)
            XCTAssertEqual(e.line, 14, "\(aggregate): \(e)")
            XCTAssertEqual(e.file, "k.toml")
            XCTAssertTrue(e.message.contains(message), "\(aggregate): \(e)")
            if let hint { XCTAssertTrue(e.hint?.contains(hint) == true, "\(aggregate): \(e)") }
        }
    }

    func testAQuantileMetricCannotGroupByQuantile() {
        let e = firstError(config(metric: """
            aggregate = "median(ms)"
            group_by = ["route", "quantile"]
            """))
        XCTAssertEqual(e?.key, "metrics[0].group_by[1]")
        XCTAssertEqual(e?.line, 15)
        XCTAssertTrue(e?.message.contains("cannot group by \"quantile\"") == true, "\(String(describing: e))")
    }

    func testDistinctExactMaxDefaultsPerMetricAndGlobally() throws {
        var c = try ConfigLoader.parse(config(metric: #"aggregate = "distinct(user)""#))
        XCTAssertEqual(c.distinctExactMax, 100_000)
        XCTAssertEqual(c.metrics[0].distinctExactMax, 100_000)
        c = try ConfigLoader.parse(config(kpid: "distinct_exact_max = 5000", metric: #"aggregate = "distinct(user)""#))
        XCTAssertEqual(c.metrics[0].distinctExactMax, 5_000)
        c = try ConfigLoader.parse(config(kpid: "distinct_exact_max = 5000", metric: """
            aggregate = "distinct(user)"
            distinct_exact_max = 70
            """))
        XCTAssertEqual(c.metrics[0].distinctExactMax, 70)
    }

    func testTheSummarySaysHowSketchesCount() throws {
        var summary = ConfigSummary.describe(try ConfigLoader.parse(config(kpid: "distinct_exact_max = 5000",
                                                                           metric: #"aggregate = "distinct(user)""#)))
        XCTAssertTrue(summary.contains("aggregate: distinct(user) (exact up to 5000 values per window and label set, then HyperLogLog)"), summary)
        summary = ConfigSummary.describe(try ConfigLoader.parse(config(metric: #"aggregate = "quantile(ms, 0.95, 0.5)""#)))
        XCTAssertTrue(summary.contains(#"aggregate: quantile(ms, 0.5, 0.95) (one row per quantile, labelled "quantile"; within 1%)"#), summary)
    }

    func testBadDistinctExactMaxNamesKeyAndLine() {
        var e = firstError(config(kpid: "distinct_exact_max = 0", metric: #"aggregate = "distinct(user)""#))
        XCTAssertEqual(e?.key, "kpid.distinct_exact_max")
        XCTAssertEqual(e?.line, 3)
        e = firstError(config(metric: """
            aggregate = "distinct(user)"
            distinct_exact_max = 1000000000
            """))
        XCTAssertEqual(e?.key, "metrics[0].distinct_exact_max")
        XCTAssertEqual(e?.line, 15)
        XCTAssertTrue(e?.message.contains("at most 100000000") == true, "\(String(describing: e))")
        e = firstError(config(metric: """
            aggregate = "sum(ms)"
            distinct_exact_max = 10
            """))
        XCTAssertEqual(e?.key, "metrics[0].distinct_exact_max")
        XCTAssertTrue(e?.message.contains("applies only to distinct(field)") == true, "\(String(describing: e))")
        e = firstError(config(metric: """
            aggregate = "distinct(user)"
            distinct_exact_max = "lots"
            """))
        XCTAssertEqual(e?.key, "metrics[0].distinct_exact_max")
    }
}
