import KPICore

/// What a compiled configuration will do, in a few lines, for `kpictl check-config`.
///
///     time zone: UTC
///     allowed lateness: 1m, flush interval: 1s, max future: 10m
///     storage: kpid.db (1000 reject samples per reason)
///     limits: messages up to 1048576 bytes, 10000 events per frame, 256 fields per event, 65536-byte string fields, 256-byte reject samples
///     sources (1):
///       web (sub)
///         bind: tcp://127.0.0.1:5555
///         subscribe: "" (everything)
///         receive high-water mark: 100000
///     metrics (1):
///       http_5xx
///         events: http.request
///         filter: status >= 500 and not prefix(route, "/health")
///         aggregate: count
///         group by: tenant
///         windows: hour
///         time zone: Asia/Beirut
public enum ConfigSummary {
    public static func describe(_ config: KpidConfig) -> String {
        var lines: [String] = []
        lines.append("time zone: \(config.timeZone)")
        lines.append("allowed lateness: \(DurationParser.format(config.allowedLatenessMillis)), "
            + "flush interval: \(DurationParser.format(config.flushIntervalMillis)), "
            + "max future: \(DurationParser.format(config.maxFutureMillis))")
        lines.append("decode ahead: " + (config.decodeAhead.map { $0 ? "on" : "off" } ?? "on when more than one CPU"))
        lines.append("storage: \(config.storage.path) (\(config.storage.rejectSamplesPerReason) reject samples per reason)")
        lines.append("limits: messages up to \(config.limits.maxMessageBytes) bytes, "
            + "\(config.limits.maxEventsPerFrame) events per frame, "
            + "\(config.limits.maxFieldsPerEvent) fields per event, "
            + "\(config.limits.maxFieldBytes)-byte string fields, "
            + "\(config.limits.rejectSampleBytes)-byte reject samples")

        lines.append("sources (\(config.sources.count)):")
        for s in config.sources {
            lines.append("  \(s.name) (\(s.kind.rawValue))")
            if !s.bind.isEmpty { lines.append("    bind: \(s.bind.joined(separator: ", "))") }
            if !s.connect.isEmpty { lines.append("    connect: \(s.connect.joined(separator: ", "))") }
            if s.kind == .sub {
                let prefixes = s.subscribe.map(quoted).joined(separator: ", ")
                lines.append("    subscribe: \(prefixes)\(s.subscribe.contains("") ? " (everything)" : "")")
            }
            lines.append("    receive high-water mark: \(s.receiveHighWaterMark)")
            if s.journal { lines.append("    journal: on") }
            if let c = s.curve {
                lines.append("    CURVE: secret key \(c.secretKeyFile); publishers: \(c.clients.map(\.publisher).joined(separator: ", "))")
            }
        }
        if config.sources.contains(where: \.journal) {
            lines.append("journal: commit every \(DurationParser.format(config.journal.commitIntervalMillis)), "
                + "retention \(DurationParser.format(config.journal.retentionMillis)), "
                + "backlog up to \(config.journal.maxBacklogBytes) bytes, compression \(config.journal.compression.rawValue)")
        }
        if config.sources.contains(where: { $0.curve != nil }) {
            lines.append("publishers (\(config.publishers.count)), unlisted ones: \(config.effectiveUnlistedPublishers.rawValue):")
            for p in config.publishers {
                lines.append("  \(p.name): types \(p.types?.joined(separator: ", ") ?? "any"); "
                    + "\(p.tenantField) \(p.tenants?.joined(separator: ", ") ?? "any")")
            }
        }

        lines.append("metrics (\(config.metrics.count)):")
        for m in config.metrics {
            lines.append("  \(m.name)")
            lines.append("    events: \(m.events.joined(separator: ", "))")
            lines.append("    filter: \(m.filter.map(\.description) ?? "(none, every event)")")
            var aggregate = m.aggregate.configText
            switch m.aggregate {
            case .distinct: aggregate += " (exact up to \(m.distinctExactMax) values per window and label set, then HyperLogLog)"
            case .quantile: aggregate += " (one row per quantile, labelled \"\(QuantileLabel.name)\"; within 1%)"
            default: break
            }
            lines.append("    aggregate: \(aggregate)")
            lines.append("    group by: \(m.groupBy.isEmpty ? "(nothing, one row per window)" : m.groupBy.joined(separator: ", "))")
            if !m.windows.isEmpty { lines.append("    windows: \(m.windows.map(\.rawValue).joined(separator: ", "))") }
            if let r = m.rolling {
                lines.append("    rolling: \(r.spanText), step \(DurationParser.format(r.stepMillis)) (period \(r.period))")
            }
            if let cap = m.maxLabelSets { lines.append("    max label sets: \(cap)") }
            lines.append("    time zone: \(m.timeZone ?? "\(config.timeZone) (global)")")
        }
        if !config.derivedMetrics.isEmpty {
            lines.append("derived metrics (\(config.derivedMetrics.count)):")
            for d in config.derivedMetrics {
                lines.append("  \(d.name) = \(d.expr.configText)")
                lines.append("    group by: \(d.groupBy.isEmpty ? "(nothing, one row per window)" : d.groupBy.joined(separator: ", "))")
                lines.append("    windows: \(d.windows.map(\.rawValue).joined(separator: ", "))")
                lines.append("    time zone: \(d.timeZone ?? "\(config.timeZone) (global)")")
            }
        }
        return lines.joined(separator: "\n")
    }
}
