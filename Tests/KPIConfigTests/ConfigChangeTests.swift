import KPIConfig
import KPICore
import XCTest

/// ``ConfigChange``: what a SIGHUP reload keeps, resets, drops and rebinds.
final class ConfigChangeTests: XCTestCase {
    private func config(_ body: String, kpid: String = "time_zone = \"UTC\"") throws -> KpidConfig {
        try ConfigLoader.parse("[kpid]\n\(kpid)\n\n" + body)
    }

    private let sources = """
    [[sources]]
    name = "web"
    kind = "pull"
    bind = ["tcp://127.0.0.1:5555"]

    [[sources]]
    name = "api"
    kind = "sub"
    bind = ["tcp://127.0.0.1:5556"]

    """

    private func metric(_ name: String, aggregate: String = "count", extra: String = "") -> String {
        "[[metrics]]\nname = \"\(name)\"\nevents = [\"e\"]\naggregate = \"\(aggregate)\"\nwindows = [\"hour\"]\n\(extra)\n"
    }

    func testMetricsAreSortedIntoAddedRemovedChangedAndKept() throws {
        let old = try config(sources + metric("kept") + metric("changed") + metric("removed"))
        let new = try config(sources + metric("kept") + metric("changed", aggregate: "sum(v)") + metric("added"))
        let c = ConfigChange(from: old, to: new)
        XCTAssertEqual(c.metricsKept, ["kept"])
        XCTAssertEqual(c.metricsChanged, ["changed"])
        XCTAssertEqual(c.metricsAdded, ["added"])
        XCTAssertEqual(c.metricsRemoved, ["removed"])
        XCTAssertEqual(c.sourcesKept, ["web", "api"])
        XCTAssertTrue(c.needsRestart.isEmpty)
        XCTAssertEqual(c.applied, new)
    }

    func testIdenticalConfigChangesNothing() throws {
        let old = try config(sources + metric("a"))
        let c = ConfigChange(from: old, to: old)
        XCTAssertTrue(c.changesNothing)
        XCTAssertEqual(c.metricsKept, ["a"])
    }

    func testAMetricWithoutItsOwnZoneChangesWhenTheGlobalZoneChanges() throws {
        let old = try config(sources + metric("a") + metric("b", extra: "time_zone = \"Asia/Beirut\""))
        let new = try config(sources + metric("a") + metric("b", extra: "time_zone = \"Asia/Beirut\""),
                             kpid: "time_zone = \"Europe/Paris\"")
        let c = ConfigChange(from: old, to: new)
        XCTAssertEqual(c.metricsChanged, ["a"])
        XCTAssertEqual(c.metricsKept, ["b"])
    }

    func testAMetricChangesWhenTheGlobalLabelCapItInheritsChanges() throws {
        let old = try config(sources + metric("a"))
        let new = try config(sources + metric("a"), kpid: "time_zone = \"UTC\"\nmax_label_sets = 5")
        XCTAssertEqual(ConfigChange(from: old, to: new).metricsChanged, ["a"])
    }

    func testASourceWithAChangedEndpointIsRebound() throws {
        let old = try config(sources + metric("a"))
        let moved = sources.replacingOccurrences(of: "5556", with: "5557")
        let c = ConfigChange(from: old, to: try config(moved + metric("a")))
        XCTAssertEqual(c.sourcesKept, ["web"])
        XCTAssertEqual(c.sourcesChanged, ["api"])
        XCTAssertTrue(c.sourcesAdded.isEmpty && c.sourcesRemoved.isEmpty)
    }

    func testSourcesAddedAndRemovedByName() throws {
        let old = try config(sources + metric("a"))
        let new = try config(sources.replacingOccurrences(of: "\"api\"", with: "\"app\"") + metric("a"))
        let c = ConfigChange(from: old, to: new)
        XCTAssertEqual(c.sourcesAdded, ["app"])
        XCTAssertEqual(c.sourcesRemoved, ["api"])
        XCTAssertTrue(c.summary.contains("sources added=[app] removed=[api] rebound=[] kept=[web]"), c.summary)
    }

    func testStorageAndStatusKeepTheirRunningValuesAndNeedARestart() throws {
        let old = try config("[storage]\npath = \"a.db\"\n\n[status]\nlisten = \"127.0.0.1:9000\"\n\n" + sources + metric("a"))
        let new = try config("[storage]\npath = \"b.db\"\n\n[status]\nlisten = \"127.0.0.1:9001\"\n\n" + sources + metric("a"))
        let c = ConfigChange(from: old, to: new)
        XCTAssertEqual(c.needsRestart, ["storage.path", "status.listen"])
        XCTAssertEqual(c.applied.storage.path, "a.db")
        XCTAssertEqual(c.applied.status.port, 9000)
        XCTAssertTrue(c.changesNothing)
    }

    func testJournalAndRetentionSettingsKeepTheirRunningValuesAndNeedARestart() throws {
        let old = try config(sources + metric("a"))
        let new = try config("[journal]\ncommit_interval = \"1s\"\n\n[retention]\nminute = \"1d\"\n\n" + sources + metric("a"))
        let c = ConfigChange(from: old, to: new)
        XCTAssertEqual(c.needsRestart, ["journal", "retention"])
        XCTAssertEqual(c.applied.journal, old.journal)
        XCTAssertEqual(c.applied.retention, old.retention)
        XCTAssertTrue(c.changesNothing)
    }

    func testACurveChangeKeepsTheRunningSourceAndANewCurveSourceIsNotOpened() {
        var old = KpidConfig()
        old.sources = [SourceConfig(name: "secure", kind: .pull)]
        old.sources[0].bind = ["tcp://127.0.0.1:7000"]
        old.sources[0].curve = CurveSourceConfig(secretKey: "s", secretKeyFile: "a", clientsDirectory: "d", clients: [])
        var new = old
        new.sources[0].curve?.secretKeyFile = "b"
        new.sources[0].bind = ["tcp://127.0.0.1:7001"]
        var extra = SourceConfig(name: "secure2", kind: .pull)
        extra.curve = old.sources[0].curve
        new.sources.append(extra)
        let c = ConfigChange(from: old, to: new)
        XCTAssertEqual(c.needsRestart, ["sources[secure].curve", "sources[secure2].curve"])
        XCTAssertEqual(c.applied.sources, old.sources)
        XCTAssertEqual(c.sourcesKept, ["secure"])
    }

    func testAlertRulesApplyWhenReceiversAndRoutingAreUnchanged() {
        var old = KpidConfig()
        old.metrics = [MetricDefinition(name: "m", events: ["e"], aggregate: .count, windows: [.minute])]
        old.alertRules = [AlertRule(name: "a", metric: "m", period: "minute", condition: .threshold(.greaterOrEqual, 3))]
        var new = old
        new.alertRules[0].name = "b"
        let c = ConfigChange(from: old, to: new)
        XCTAssertTrue(c.alertRulesChanged)
        XCTAssertEqual(c.applied.alertRules, new.alertRules)
        XCTAssertTrue(c.needsRestart.isEmpty)
    }

    func testAlertRulesNeedARestartWithChangedReceiversOrWhenAlertingDoesNotRunYet() {
        var old = KpidConfig()
        old.metrics = [MetricDefinition(name: "m", events: ["e"], aggregate: .count, windows: [.minute])]
        var new = old
        new.alertRules = [AlertRule(name: "a", metric: "m", period: "minute", condition: .threshold(.greaterOrEqual, 3))]
        let first = ConfigChange(from: old, to: new)
        XCTAssertFalse(first.alertRulesChanged)
        XCTAssertEqual(first.needsRestart, ["alerts"])
        XCTAssertEqual(first.applied.alertRules, [])

        old.alertRules = new.alertRules
        new.alertRules[0].name = "b"
        new.alerting.externalURL = "http://elsewhere"
        let second = ConfigChange(from: old, to: new)
        XCTAssertFalse(second.alertRulesChanged)
        XCTAssertEqual(second.needsRestart, ["alerts", "alerting"])
        XCTAssertEqual(second.applied.alertRules, old.alertRules)
        XCTAssertEqual(second.applied.alerting, old.alerting)
    }

    func testMetricOverAPipelineChangesWhenThePipelineChanges() {
        var old = KpidConfig()
        old.pipelines = [QualificationPipelineConfig(name: "clicks", events: ["click"])]
        old.metrics = [MetricDefinition(name: "q", events: ["click"], aggregate: .count, windows: [.day], pipeline: "clicks"),
                       MetricDefinition(name: "raw", events: ["click"], aggregate: .count, windows: [.day])]
        var new = old
        new.pipelines[0].dedupeWindowMillis += 1
        let c = ConfigChange(from: old, to: new)
        XCTAssertEqual(c.metricsChanged, ["q"])
        XCTAssertEqual(c.metricsKept, ["raw"])
    }
}
