import KPICore
import TOMLKit

extension ConfigKeys {
    static let journal = ["commit_interval", "retention", "max_backlog_bytes", "compression"]
}

/// The `[journal]` table: how often the event journal commits, how long checkpointed rows are
/// kept, how many uncommitted bytes it may hold, and how frames are compressed. Sources opt in
/// with `journal = true`.
extension ConfigCompiler {
    mutating func journal(_ root: TOMLTable, into config: inout KpidConfig) {
        guard let t = section(root, "journal") else { return }
        checkKeys(t, allowed: ConfigKeys.journal, prefix: "journal")
        if let ms = duration(t, "commit_interval", prefix: "journal", positive: true).value {
            config.journal.commitIntervalMillis = ms
        }
        if let ms = duration(t, "retention", prefix: "journal", positive: true).value { config.journal.retentionMillis = ms }
        if let n = int(t, "max_backlog_bytes", prefix: "journal", min: 1).value { config.journal.maxBacklogBytes = n }
        if let c: JournalCompression = oneOf(t, "compression", prefix: "journal", what: "compression").value {
            config.journal.compression = c
        }
    }
}
