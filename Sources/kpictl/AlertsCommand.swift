import ArgumentParser
import Foundation
import KPICore
import KPIStore

/// `kpictl alerts --db F`: firing and pending alerts, the recent history, and the outbox.
struct AlertsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "Show firing and pending alerts, the recent alert history and undelivered notifications."
    )

    @Option(help: "SQLite database.")
    var db: String = "kpid.db"

    @Option(help: "History rows to show.")
    var history: Int = 20

    func run() throws {
        guard FileManager.default.fileExists(atPath: db) else { throw ValidationError("no database at \(db)") }
        let store = try KPIStore(path: db, readOnly: true)
        let current = try store.currentAlerts()
        print("ACTIVE (\(current.count))")
        print(pad(["STATE", "RULE", "SINCE", "VALUE", "LABELS"]))
        for a in current {
            print(pad([a.state, a.rule, a.since.map(Timestamp.formatRFC3339) ?? "-", a.value.map(NumberText.shortest) ?? "-", a.labels]))
        }
        let rows = try store.alertHistory(limit: history)
        print("\nHISTORY (newest \(rows.count))")
        print(pad(["STATE", "RULE", "STARTED", "RESOLVED", "VALUE", "LABELS"]))
        for h in rows {
            print(pad([h.state, h.rule, h.startedAt, h.resolvedAt ?? "-", h.value.map(NumberText.shortest) ?? "-", h.labels]))
        }
        let outbox = try store.outbox(limit: 1000).filter { $0.status != "delivered" }
        print("\nOUTBOX not delivered (\(outbox.count))")
        print(pad(["STATUS", "RECEIVER", "ATTEMPTS", "NEXT ATTEMPT", "LAST ERROR"]))
        for o in outbox.prefix(history) {
            print(pad([o.status, o.receiver, "\(o.attempts)", Timestamp.formatRFC3339(o.nextAttemptAt), o.lastError ?? "-"]))
        }
    }

    func pad(_ cols: [String]) -> String {
        let widths = [9, 28, 25, 25, 10]
        return cols.enumerated().map { i, c in
            i < widths.count && i < cols.count - 1 ? c.padding(toLength: max(widths[i], c.count + 1), withPad: " ", startingAt: 0) : c
        }.joined()
    }
}
