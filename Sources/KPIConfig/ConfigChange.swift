import KPICore

/// What a reload (SIGHUP) changes: the difference between the running config and a newly loaded
/// one, and the config that is actually applied.
///
/// Metrics (event and derived) and sources are compared by name:
/// - a metric is **kept** when its definition and everything its state depends on is the same:
///   the definition itself, its effective time zone and label cap, and for a metric over a
///   qualification pipeline that pipeline's config. Its state survives the reload.
/// - a source is **kept** when its ``SourceConfig`` is the same; its socket stays open, so no
///   queued message is lost. A changed source is closed and opened again.
///
/// Some keys cannot change without a restart; ``applied`` keeps their running values and
/// ``needsRestart`` names them:
/// - `storage.path`, `storage.reject_samples_per_reason` (the store and its writer are opened once),
/// - `status.listen`, `status.enabled` (the HTTP listener is bound once),
/// - CURVE: a source whose `curve_*` settings changed keeps its whole running definition, and a new
///   source with CURVE is not opened (the ZAP handler's client keys are read once); `[[publishers]]`
///   and `unlisted_publishers` keep their running values,
/// - alerting, except the rules: `[[receivers]]` and `[alerting]` (the outbox delivery workers
///   are built once). `[[alerts]]` changes apply (``alertRulesChanged``) when receivers and
///   `[alerting]` are unchanged and alerting already runs; otherwise they need a restart too.
///
/// Pure and cheap: a few comparisons per metric and source.
public struct ConfigChange: Sendable, Equatable {
    /// Metric names (event and derived metrics), in the order of the new config; removed ones in
    /// the order of the old.
    public var metricsAdded: [String] = []
    public var metricsRemoved: [String] = []
    public var metricsChanged: [String] = []
    public var metricsKept: [String] = []
    /// Source names, likewise.
    public var sourcesAdded: [String] = []
    public var sourcesRemoved: [String] = []
    public var sourcesChanged: [String] = []
    public var sourcesKept: [String] = []
    /// Config keys whose new values are not applied (see above), as `key` or `sources[NAME].curve`.
    public var needsRestart: [String] = []
    /// True when ``applied`` has other alert rules than the running config: the alert runner is
    /// rebuilt (its state restored from SQLite, as at a start).
    public var alertRulesChanged = false
    /// The config to run: the new one, with the restart-only keys of the running one.
    public var applied: KpidConfig

    /// The change from the running config `old` to the newly loaded `new`.
    public init(from old: KpidConfig, to new: KpidConfig) {
        var next = new
        var restart: [String] = []
        if new.storage.path != old.storage.path { restart.append("storage.path") }
        if new.storage.rejectSamplesPerReason != old.storage.rejectSamplesPerReason {
            restart.append("storage.reject_samples_per_reason")
        }
        next.storage = old.storage
        if new.status.host != old.status.host || new.status.port != old.status.port { restart.append("status.listen") }
        if new.status.enabled != old.status.enabled { restart.append("status.enabled") }
        next.status = old.status
        // CURVE: keep each running source's definition when its curve settings changed; never open
        // a new CURVE source (the ZAP handler would not know its clients).
        let oldSources = Dictionary(old.sources.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        next.sources = new.sources.compactMap { s in
            if let was = oldSources[s.name] {
                guard was.curve != s.curve else { return s }
                restart.append("sources[\(s.name)].curve")
                return was
            }
            guard s.curve == nil else {
                restart.append("sources[\(s.name)].curve")
                return nil
            }
            return s
        }
        if new.publishers != old.publishers { restart.append("publishers") }
        if new.unlistedPublishers != old.unlistedPublishers { restart.append("kpid.unlisted_publishers") }
        next.publishers = old.publishers
        next.unlistedPublishers = old.unlistedPublishers
        // Alerting runs when there are rules or receivers (see `Daemon`).
        let alertingRuns = !old.alertRules.isEmpty || !old.receivers.isEmpty
        if new.alertRules != old.alertRules {
            if new.receivers == old.receivers && new.alerting == old.alerting && alertingRuns {
                alertRulesChanged = true
            } else {
                restart.append("alerts")
                next.alertRules = old.alertRules
            }
        }
        if new.receivers != old.receivers { restart.append("receivers") }
        if new.alerting != old.alerting { restart.append("alerting") }
        next.receivers = old.receivers
        next.alerting = old.alerting
        // The journal's settings and the retention pruner are built once, at start.
        if new.journal != old.journal { restart.append("journal") }
        if new.retention != old.retention { restart.append("retention") }
        next.journal = old.journal
        next.retention = old.retention
        applied = next
        needsRestart = restart

        let oldMetrics = Dictionary(old.metrics.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let oldDerived = Dictionary(old.derivedMetrics.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for m in next.metrics {
            if let was = oldMetrics[m.name] {
                if Self.sameState(was, in: old, m, in: next) { metricsKept.append(m.name) } else { metricsChanged.append(m.name) }
            } else if oldDerived[m.name] != nil {
                metricsChanged.append(m.name)
            } else {
                metricsAdded.append(m.name)
            }
        }
        for d in next.derivedMetrics {
            if let was = oldDerived[d.name] {
                if was == d && (was.timeZone ?? old.timeZone) == (d.timeZone ?? next.timeZone) {
                    metricsKept.append(d.name)
                } else {
                    metricsChanged.append(d.name)
                }
            } else if oldMetrics[d.name] != nil {
                metricsChanged.append(d.name)
            } else {
                metricsAdded.append(d.name)
            }
        }
        let newNames = Set(next.metrics.map(\.name) + next.derivedMetrics.map(\.name))
        metricsRemoved = (old.metrics.map(\.name) + old.derivedMetrics.map(\.name)).filter { !newNames.contains($0) }

        for s in next.sources {
            if let was = oldSources[s.name] {
                if was == s { sourcesKept.append(s.name) } else { sourcesChanged.append(s.name) }
            } else {
                sourcesAdded.append(s.name)
            }
        }
        let newSources = Set(next.sources.map(\.name))
        sourcesRemoved = old.sources.map(\.name).filter { !newSources.contains($0) }
    }

    /// True when nothing that a metric's state depends on differs.
    static func sameState(_ a: MetricDefinition, in ac: KpidConfig, _ b: MetricDefinition, in bc: KpidConfig) -> Bool {
        guard a == b,
              (a.timeZone ?? ac.timeZone) == (b.timeZone ?? bc.timeZone),
              (a.maxLabelSets ?? ac.maxLabelSets) == (b.maxLabelSets ?? bc.maxLabelSets)
        else { return false }
        guard let p = a.pipeline else { return true }
        return ac.pipeline(named: p) == bc.pipeline(named: p)
    }

    /// True when the reload changes no metric and no source.
    public var changesNothing: Bool {
        metricsAdded.isEmpty && metricsRemoved.isEmpty && metricsChanged.isEmpty
            && sourcesAdded.isEmpty && sourcesRemoved.isEmpty && sourcesChanged.isEmpty
    }

    /// One line for the `config reloaded` log: `metrics added=[a] removed=[] changed=[b] kept=[c]; ...`.
    public var summary: String {
        func list(_ names: [String]) -> String { "[" + names.joined(separator: ",") + "]" }
        return "metrics added=\(list(metricsAdded)) removed=\(list(metricsRemoved)) changed=\(list(metricsChanged))"
            + " kept=\(list(metricsKept)); sources added=\(list(sourcesAdded)) removed=\(list(sourcesRemoved))"
            + " rebound=\(list(sourcesChanged)) kept=\(list(sourcesKept))"
    }
}
