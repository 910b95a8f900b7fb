import ArgumentParser
import Foundation
import KPICore
import KPIStore

/// Output formats of `kpictl query`.
enum QueryFormat: String, ExpressibleByArgument, CaseIterable {
    case table, json, csv
}

/// `kpictl query METRIC`: reads windowed aggregates from the SQLite file.
struct QueryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "query",
        abstract: "Print the stored windows of a metric."
    )

    @Argument(help: "Metric name.")
    var metric: String

    @Option(help: "SQLite database.")
    var db: String = "kpid.db"

    @Option(help: "minute, hour, day, week or month.")
    var period: String?

    @Option(help: "Only windows starting at or after this RFC 3339 instant.")
    var from: String?

    @Option(help: "Only windows starting before this RFC 3339 instant.")
    var to: String?

    @Option(name: .customLong("label"), help: "Only rows with this label, as k=v (repeatable).")
    var labels: [String] = []

    @Option(help: "table, json or csv.")
    var format: QueryFormat = .table

    func run() throws {
        var labelFilter: [String: String] = [:]
        for l in labels {
            guard let eq = l.firstIndex(of: "=") else { throw ValidationError("--label takes k=v, got \(l)") }
            labelFilter[String(l[..<eq])] = String(l[l.index(after: eq)...])
        }
        func instant(_ s: String?, _ name: String) throws -> EpochMillis? {
            guard let s else { return nil }
            guard let t = Timestamp.parseRFC3339(s) else { throw ValidationError("\(name) is not RFC 3339: \(s)") }
            return t
        }
        guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("no database at \(db)") }
        let store = try KPIStore(path: db, readOnly: true)
        let rows = try store.aggregates(metric: metric, period: period, from: instant(from, "--from"), to: instant(to, "--to"),
                                        labels: labelFilter)
        print(QueryOutput.render(rows, format: format), terminator: "")
    }
}

/// Renders aggregate rows as a table, JSON (an array of objects, labels as an object) or CSV.
///
/// The derived-metric columns (`reason`, `numerator`, `denominator`) are always in JSON and CSV,
/// and in the table only when some row has one of them.
enum QueryOutput {
    static func render(_ rows: [StoredAggregate], format: QueryFormat) -> String {
        let derived = format != .table || rows.contains { $0.reason != nil || $0.numerator != nil || $0.denominator != nil }
        let header = ["metric", "period", "window_start", "window_end", "labels", "value", "samples", "final", "updated_at", "estimated"]
            + (derived ? ["reason", "numerator", "denominator"] : [])
        func cells(_ r: StoredAggregate) -> [String] {
            [r.metric, r.period, r.windowStart, r.windowEnd, r.labels, r.value.map(LabelValue.format) ?? "",
             String(r.samples), r.final ? "1" : "0", r.updatedAt, r.estimated ? "1" : "0"]
                + (derived ? [r.reason ?? "", r.numerator.map(LabelValue.format) ?? "", r.denominator.map(LabelValue.format) ?? ""] : [])
        }
        func number(_ v: Double?) -> String { v.map { $0.isFinite ? LabelValue.format($0) : "null" } ?? "null" }
        switch format {
        case .json:
            let items = rows.map { r -> String in
                "{\"metric\":\(CanonicalLabels.quote(r.metric)),\"period\":\(CanonicalLabels.quote(r.period)),"
                    + "\"window_start\":\(CanonicalLabels.quote(r.windowStart)),\"window_end\":\(CanonicalLabels.quote(r.windowEnd)),"
                    + "\"labels\":\(r.labels),\"value\":\(number(r.value)),\"samples\":\(r.samples),\"final\":\(r.final),"
                    + "\"updated_at\":\(CanonicalLabels.quote(r.updatedAt)),\"estimated\":\(r.estimated),"
                    + "\"reason\":\(r.reason.map(CanonicalLabels.quote) ?? "null"),"
                    + "\"numerator\":\(number(r.numerator)),\"denominator\":\(number(r.denominator))}"
            }
            return "[" + items.joined(separator: ",\n ") + "]\n"
        case .csv:
            func field(_ s: String) -> String {
                s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
            }
            return ([header] + rows.map(cells)).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
        case .table:
            let all = [header] + rows.map(cells)
            let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
            return all.map { row in
                row.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
            }.joined(separator: "\n") + "\n"
        }
    }
}
