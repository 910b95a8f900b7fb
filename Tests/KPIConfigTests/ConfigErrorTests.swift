import KPIConfig
import KPICore
import XCTest

/// A valid source and metric, to which each test adds or changes one thing.
private let source = """
[[sources]]
name = "web"
kind = "sub"
bind = ["tcp://127.0.0.1:5555"]

"""

private let metric = """
[[metrics]]
name = "m"
events = ["e"]
aggregate = "count"
windows = ["hour"]

"""

final class ConfigErrorTests: XCTestCase {
    /// The first error of `text`, failing the test when it compiles.
    private func firstError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> ConfigError {
        do {
            let config = try ConfigLoader.parse(text, file: "conf/kpid.toml")
            XCTFail("compiled: \(config)", file: file, line: line)
            return ConfigError(key: "", line: nil, message: "")
        } catch {
            return error
        }
    }

    private func assertError(_ text: String, key: String, line: Int?, message: String, hint: String? = nil,
                             file: StaticString = #filePath, sourceLine: UInt = #line) {
        let e = firstError(text, file: file, line: sourceLine)
        XCTAssertEqual(e.key, key, "\(e)", file: file, line: sourceLine)
        XCTAssertEqual(e.line, line, "\(e)", file: file, line: sourceLine)
        XCTAssertTrue(e.message.contains(message), "message of \(e)", file: file, line: sourceLine)
        if let hint {
            XCTAssertTrue(e.hint?.contains(hint) == true, "hint of \(e)", file: file, line: sourceLine)
        }
        XCTAssertEqual(e.file, "conf/kpid.toml", file: file, line: sourceLine)
    }

    // MARK: TOML

    func testTOMLSyntaxErrorGivesLineAndColumn() {
        let e = firstError("[kpid]\ntime_zone = \"UTC\"\nflush_interval = \n")
        XCTAssertEqual(e.key, "")
        XCTAssertEqual(e.line, 3)
        XCTAssertNotNil(e.column)
        XCTAssertTrue(e.message.hasPrefix("TOML syntax error at column"), e.message)
        XCTAssertTrue(e.description.hasPrefix("conf/kpid.toml:3: TOML syntax error"), e.description)
    }

    func testDuplicateTOMLKeyIsASyntaxError() {
        let e = firstError("[kpid]\ntime_zone = \"UTC\"\ntime_zone = \"UTC\"\n")
        XCTAssertEqual(e.line, 3)
    }

    // MARK: Unknown keys

    func testUnknownKeyNamesKeyLineAndSuggestion() {
        let text = "[kpid]\ntime_zone = \"UTC\"\nflush_intervall = \"1s\"\n\n" + source + metric
        let e = firstError(text)
        XCTAssertEqual(e.key, "kpid.flush_intervall")
        XCTAssertEqual(e.line, 3)
        XCTAssertEqual(e.message, "unknown key \"flush_intervall\"")
        XCTAssertEqual(e.hint, "did you mean \"flush_interval\"?")
        XCTAssertEqual(e.description,
                       "conf/kpid.toml:3: kpid.flush_intervall: unknown key \"flush_intervall\" (hint: did you mean \"flush_interval\"?)")
    }

    func testUnknownKeyWithoutCloseMatchListsKnownKeys() {
        assertError("[storage]\ncolor = \"red\"\n" + source + metric, key: "storage.color", line: 2,
                    message: "unknown key \"color\"", hint: "known keys in [storage]: path, reject_samples_per_reason")
    }

    func testUnknownKeysInSourcesAndMetricsAreIndexed() {
        assertError(source + metric + metric.replacingOccurrences(of: "name = \"m\"", with: "name = \"m2\"\ngroupby = [\"x\"]"),
                    key: "metrics[1].groupby", line: 12, message: "unknown key \"groupby\"", hint: "did you mean \"group_by\"?")
        assertError(source.replacingOccurrences(of: "kind = \"sub\"", with: "kind = \"sub\"\nbnd = []") + metric,
                    key: "sources[0].bnd", line: 4, message: "unknown key", hint: "did you mean \"bind\"?")
    }

    func testUnknownSectionAndTopLevelKeys() {
        assertError("[kpidd]\n" + source + metric, key: "kpidd", line: 1, message: "unknown table \"kpidd\"",
                    hint: "did you mean \"kpid\"?")
        assertError("time_zone = \"UTC\"\n" + source + metric, key: "time_zone", line: 1, message: "unknown key",
                    hint: "time_zone belongs in [kpid]")
        assertError("[kpid.extra]\nx = 1\n" + source + metric, key: "kpid.extra", line: 1, message: "unknown table \"extra\"")
    }

    func testQuotedUnknownKeyIsQuotedInThePath() {
        assertError("[kpid]\n\"time zone\" = \"UTC\"\n" + source + metric, key: "kpid.\"time zone\"", line: 2,
                    message: "unknown key", hint: "did you mean \"time_zone\"?")
    }

    // MARK: Types

    func testWrongValueTypesSayWhatWasExpected() {
        assertError("[kpid]\ntime_zone = 3\n" + source + metric, key: "kpid.time_zone", line: 2,
                    message: "expected a string, found an integer (3)")
        assertError("[storage]\npath = [\"a\"]\n" + source + metric, key: "storage.path", line: 2,
                    message: "expected a string, found an array")
        assertError("[limits]\nmax_message_bytes = \"1MB\"\n" + source + metric, key: "limits.max_message_bytes", line: 2,
                    message: "expected an integer, found a string")
        assertError("[limits]\nmax_message_bytes = 1.5\n" + source + metric, key: "limits.max_message_bytes", line: 2,
                    message: "expected an integer, found a float")
        assertError(source + metric.replacingOccurrences(of: "events = [\"e\"]", with: "events = [\"e\", 7]"),
                    key: "metrics[0].events[1]", line: 7, message: "expected a string, found an integer (7)")
        assertError(source + metric.replacingOccurrences(of: "windows = [\"hour\"]", with: "windows = true"),
                    key: "metrics[0].windows", line: 9, message: "expected an array of strings, found a boolean")
        assertError("kpid = 1\n" + source + metric, key: "kpid", line: 1, message: "expected a table")
        assertError("[sources]\nname = \"x\"\n" + metric, key: "sources", line: 1,
                    message: "expected an array of tables", hint: "[[sources]]")
    }

    func testNegativeIntegersAreRejected() {
        assertError("[limits]\nmax_events_per_frame = 0\n" + source + metric, key: "limits.max_events_per_frame", line: 2,
                    message: "must be at least 1")
        assertError(source.replacingOccurrences(of: "kind = \"sub\"", with: "kind = \"sub\"\nreceive_hwm = -1") + metric,
                    key: "sources[0].receive_hwm", line: 4, message: "must be at least 0")
    }

    // MARK: Durations and zones

    func testBareNumberDurationHintsAtAUnit() {
        assertError("[kpid]\nallowed_lateness = 30\n" + source + metric, key: "kpid.allowed_lateness", line: 2,
                    message: "bare number 30", hint: "write \"30s\"")
        assertError("[kpid]\nallowed_lateness = \"30\"\n" + source + metric, key: "kpid.allowed_lateness", line: 2,
                    message: "duration \"30\" has no unit", hint: "write \"30s\"")
    }

    func testBadDurationNamesTheUnits() {
        assertError("[kpid]\n\nmax_future = \"10 minutes\"\n" + source + metric, key: "kpid.max_future", line: 3,
                    message: "invalid duration \"10 minutes\"", hint: "ms, s, m, h, d, w")
        assertError("[kpid]\nflush_interval = \"0s\"\n" + source + metric, key: "kpid.flush_interval", line: 2,
                    message: "must be greater than 0")
    }

    func testUnknownGlobalTimeZone() {
        assertError("[kpid]\ntime_zone = \"Europe/Berln\"\n" + source + metric, key: "kpid.time_zone", line: 2,
                    message: "unknown time zone \"Europe/Berln\"", hint: "did you mean \"Europe/Berlin\"?")
        assertError("[kpid]\ntime_zone = \"utc\"\n" + source + metric, key: "kpid.time_zone", line: 2,
                    message: "unknown time zone", hint: "did you mean \"UTC\"?")
    }

    func testUnknownMetricTimeZone() {
        assertError(source + metric + "time_zone = \"Mars/Olympus\"\n", key: "metrics[0].time_zone", line: 10,
                    message: "unknown time zone \"Mars/Olympus\"", hint: "IANA")
    }

    // MARK: Sources

    func testUnknownSourceKind() {
        assertError(source.replacingOccurrences(of: "kind = \"sub\"", with: "kind = \"push\"") + metric,
                    key: "sources[0].kind", line: 3, message: "unknown source kind \"push\"", hint: "kind = \"pull\"")
        assertError(source.replacingOccurrences(of: "kind = \"sub\"", with: "kind = \"req\"") + metric,
                    key: "sources[0].kind", line: 3, message: "unknown source kind \"req\"", hint: "one of sub, pull")
        assertError(source.replacingOccurrences(of: "kind = \"sub\"\n", with: "") + metric,
                    key: "sources[0].kind", line: 1, message: "missing kind")
    }

    func testSourceWithoutEndpoint() {
        assertError("[[sources]]\nname = \"web\"\nkind = \"sub\"\nbind = []\nconnect = []\n" + metric,
                    key: "sources[0]", line: 1, message: "source \"web\" has no endpoint", hint: "bind = [")
        assertError("[[sources]]\nname = \"web\"\nkind = \"pull\"\n" + metric,
                    key: "sources[0]", line: 1, message: "has no endpoint")
    }

    func testEndpointNeedsAKnownTransport() {
        let text = source.replacingOccurrences(of: "bind = [\"tcp://127.0.0.1:5555\"]",
                                               with: "bind = [\n  \"tcp://127.0.0.1:5555\",\n  \"127.0.0.1:5556\",\n]")
        assertError(text + metric, key: "sources[0].bind[1]", line: 6,
                    message: "endpoint \"127.0.0.1:5556\" must start with tcp://, ipc://, inproc://, pgm:// or epgm://")
        assertError(source.replacingOccurrences(of: "bind", with: "connect").replacingOccurrences(of: "tcp://127.0.0.1:5555", with: "udp://x") + metric,
                    key: "sources[0].connect[0]", line: 4, message: "must start with tcp://")
        assertError(source.replacingOccurrences(of: "tcp://127.0.0.1:5555", with: "tcp://") + metric,
                    key: "sources[0].bind[0]", line: 4, message: "has no address")
        XCTAssertNoThrow(try ConfigLoader.parse(source.replacingOccurrences(of: "tcp://127.0.0.1:5555", with: "epgm://eth0;239.192.1.1:5555") + metric))
    }

    func testDuplicateSourceNames() {
        assertError(source + source + metric, key: "sources[1].name", line: 6,
                    message: "duplicate source name \"web\" (first defined at line 2)")
    }

    func testSubscribeOnPullSourceIsAnError() {
        let text = source.replacingOccurrences(of: "kind = \"sub\"", with: "kind = \"pull\"") + "subscribe = [\"\"]\n" + metric
        assertError(text, key: "sources[0].subscribe", line: 5, message: "subscribe applies only to sub sources",
                    hint: "remove subscribe")
    }

    func testSourceNeedsAName() {
        assertError(source.replacingOccurrences(of: "name = \"web\"\n", with: "") + metric,
                    key: "sources[0].name", line: 1, message: "missing name")
        assertError(source.replacingOccurrences(of: "name = \"web\"", with: "name = \"\"") + metric,
                    key: "sources[0].name", line: 2, message: "must not be empty")
    }

    // MARK: Metrics

    func testMetricRequiredKeys() {
        for (key, line) in [("name", 5), ("events", 5), ("aggregate", 5), ("windows", 5)] {
            let text = source + metric.split(separator: "\n").filter { !$0.hasPrefix(key + " ") }.joined(separator: "\n")
            assertError(text, key: "metrics[0].\(key)", line: line, message: "missing \(key)")
        }
        assertError(source + metric.replacingOccurrences(of: "events = [\"e\"]", with: "events = []"),
                    key: "metrics[0].events", line: 7, message: "events is empty")
        assertError(source + metric.replacingOccurrences(of: "windows = [\"hour\"]", with: "windows = []"),
                    key: "metrics[0].windows", line: 9, message: "windows is empty")
    }

    func testDuplicateMetricNames() {
        assertError(source + metric + metric, key: "metrics[1].name", line: 11,
                    message: "duplicate metric name \"m\" (first defined at line 6)")
    }

    func testMetricNameMustBeAnIdentifier() {
        for bad in ["http-5xx", "5xx", "", "a b", "é"] {
            assertError(source + metric.replacingOccurrences(of: "name = \"m\"", with: "name = \"\(bad)\""),
                        key: "metrics[0].name", line: 6, message: "invalid metric name")
        }
        let e = firstError(source + metric.replacingOccurrences(of: "name = \"m\"", with: "name = \"http-5xx\""))
        XCTAssertEqual(e.hint, "e.g. name = \"http_5xx\"")
    }

    func testUnknownAggregate() {
        let text = source + metric.replacingOccurrences(of: "aggregate = \"count\"", with: "aggregate = \"p95(x)\"")
        let e = firstError(text)
        XCTAssertEqual(e.description,
                       "conf/kpid.toml:8: metrics[0].aggregate: unknown aggregate \"p95(x)\" (hint: one of count, sum(field), min(field), max(field), avg(field), distinct(field), quantile(field, 0.5, 0.95, ...), median(field))")
    }

    func testMalformedAggregates() {
        let cases: [(String, String, String?)] = [
            ("sum", "sum needs a field", "sum(latency_ms)"),
            ("sum()", "sum needs a field", nil),
            ("count(x)", "count takes no field", "distinct(x)"),
            ("avg(a b)", "invalid field name \"a b\"", nil),
            ("sum(x", "unknown aggregate", nil),
            ("average(x)", "unknown aggregate", "did you mean avg(field)?"),
            ("cont", "unknown aggregate", "did you mean count?"),
        ]
        for (aggregate, message, hint) in cases {
            assertError(source + metric.replacingOccurrences(of: "aggregate = \"count\"", with: "aggregate = \"\(aggregate)\""),
                        key: "metrics[0].aggregate", line: 8, message: message, hint: hint)
        }
    }

    func testUnknownWindowPeriod() {
        assertError(source + metric.replacingOccurrences(of: "windows = [\"hour\"]", with: "windows = [\"day\", \"hourly\"]"),
                    key: "metrics[0].windows[1]", line: 9, message: "unknown window period \"hourly\"",
                    hint: "did you mean \"hour\"? one of minute, hour, day, week, month")
        assertError(source + metric.replacingOccurrences(of: "windows = [\"hour\"]", with: "windows = [\"hour\", \"hour\"]"),
                    key: "metrics[0].windows[1]", line: 9, message: "listed twice")
    }

    func testFilterSyntaxErrorReportsTheFilterColumn() {
        let text = source + metric + "filter = \"status >= and x = 1\"\n"
        let e = firstError(text)
        XCTAssertEqual(e.key, "metrics[0].filter")
        XCTAssertEqual(e.line, 10)
        XCTAssertEqual(e.message, "invalid filter: expected a literal after '>=' at column 11")
        XCTAssertNotNil(e.hint)
    }

    func testFilterMustBeAString() {
        assertError(source + metric + "filter = 5\n", key: "metrics[0].filter", line: 10, message: "expected a string")
    }

    func testDuplicateGroupByField() {
        assertError(source + metric + "group_by = [\"a\", \"a\"]\n", key: "metrics[0].group_by[1]", line: 10,
                    message: "listed twice")
    }

    // MARK: Field types

    func testFieldUsedAsNumberAndStringAcrossMetricsNamesBoth() {
        let text = source + """
        [[metrics]]
        name = "latency"
        events = ["http.request"]
        aggregate = "sum(status)"
        windows = ["hour"]

        [[metrics]]
        name = "errors"
        events = ["http.request", "job"]
        filter = 'route = "/x" and status = "500"'
        aggregate = "count"
        windows = ["hour"]
        """
        let e = firstError(text)
        XCTAssertEqual(e.key, "metrics[1].filter")
        XCTAssertEqual(e.line, 14)
        XCTAssertTrue(e.message.contains("\"latency\""), e.message)
        XCTAssertTrue(e.message.contains("\"errors\""), e.message)
        XCTAssertTrue(e.message.contains("field \"status\" is used as a number"), e.message)
        XCTAssertTrue(e.message.contains("as a string"), e.message)
        XCTAssertTrue(e.message.contains("http.request"), e.message)
        XCTAssertNotNil(e.hint)
    }

    func testFieldTypeConflictFromOrderingAndPrefix() {
        let text = source + """
        [[metrics]]
        name = "a"
        events = ["x"]
        filter = "code >= 500"
        aggregate = "count"
        windows = ["hour"]

        [[metrics]]
        name = "b"
        events = ["x"]
        filter = 'prefix(code, "5")'
        aggregate = "count"
        windows = ["hour"]
        """
        assertError(text, key: "metrics[1].filter", line: 15, message: "field \"code\" is used as a number in metric \"a\"")
    }

    func testFieldTypeConflictWithinOneMetric() {
        let text = source + """
        [[metrics]]
        name = "a"
        events = ["x"]
        filter = 'v = "high"'
        aggregate = "avg(v)"
        windows = ["hour"]
        """
        assertError(text, key: "metrics[0].aggregate", line: 9, message: "in metric \"a\"")
        assertError(source + metric + "filter = 'v in [1, \"a\"]'\n", key: "metrics[0].filter", line: 10,
                    message: "field \"v\" is used as a number")
    }

    func testSameFieldWithDifferentTypesOnDisjointEventsIsFine() throws {
        let text = source + """
        [[metrics]]
        name = "a"
        events = ["x"]
        filter = "v > 0"
        aggregate = "sum(v)"
        windows = ["hour"]

        [[metrics]]
        name = "b"
        events = ["y"]
        filter = 'v = "high" and prefix(w, "a") and exists(v)'
        aggregate = "distinct(v)"
        windows = ["hour"]

        [[metrics]]
        name = "c"
        events = ["x", "z"]
        filter = "v <= 10 and w != 5 and v != null"
        aggregate = "max(w)"
        windows = ["hour"]
        """
        XCTAssertNoThrow(try ConfigLoader.parse(text))
    }

    func testStringComparisonWithNotEqualIsAStringUse() {
        let text = source + """
        [[metrics]]
        name = "a"
        events = ["x"]
        aggregate = "sum(v)"
        windows = ["hour"]

        [[metrics]]
        name = "b"
        events = ["x"]
        filter = 'v != "n/a"'
        aggregate = "count"
        windows = ["hour"]
        """
        assertError(text, key: "metrics[1].filter", line: 14, message: "as a string in metric \"b\" (v != \"n/a\")")
    }

    // MARK: Presence

    func testAtLeastOneSourceAndOneMetric() {
        assertError(metric, key: "sources", line: nil, message: "no sources configured", hint: "[[sources]]")
        assertError(source, key: "metrics", line: nil, message: "no metrics configured", hint: "[[metrics]]")
        assertError("sources = []\n" + metric, key: "sources", line: 1, message: "no sources configured")
    }
}

final class TOMLSyntaxErrorTests: XCTestCase {
    func testSyntaxErrorMessageNamesWhatWasBeingParsed() {
        let e = ConfigLoader.diagnose("[kpid]\nflush_interval = \n", file: "k.toml").errors.first
        XCTAssertEqual(e?.description, "k.toml:2: TOML syntax error at column 18: expected value, saw '\\n' (in a key-value pair)")
        XCTAssertEqual(e?.column, 18)
    }

    func testRedefiningAnArrayOfTablesIsASyntaxError() {
        let e = ConfigLoader.diagnose("[[metrics]]\nname = 'a'\n[metrics]\n").errors.first
        XCTAssertEqual(e?.line, 3)
        XCTAssertTrue(e?.message.contains("cannot redefine existing array 'metrics' as table") == true, "\(String(describing: e))")
    }

    func testNulCharacterIsReportedWithItsLine() {
        let e = ConfigLoader.diagnose("[kpid]\ntime_zone = \"U\u{0}TC\"\n").errors.first
        XCTAssertEqual(e?.line, 2)
        XCTAssertEqual(e?.message, "the file contains a NUL character")
    }
}
