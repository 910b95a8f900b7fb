import Foundation
import Logging

/// What the two log handlers (``LogfmtLogHandler``, ``JSONLogHandler``) share: the timestamp, a
/// record's metadata over the handler's, sorted by key, and one locked write of each whole line to stdout,
/// so lines of concurrent records never interleave.
enum LogLine {
    private static let lock = NSLock()

    /// Now, as RFC 3339 UTC with milliseconds (`2026-11-23T08:00:00.000Z`).
    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let ms = Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000)
        let d = Date(timeIntervalSince1970: Double(ms) / 1000)
        return d.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }

    /// The handler's metadata with the record's on top, sorted by key.
    static func metadata(_ handler: Logger.Metadata, _ record: Logger.Metadata?) -> [(key: String, value: Logger.MetadataValue)] {
        var all = handler
        if let record { all.merge(record) { $1 } }
        return all.sorted { $0.key < $1.key }
    }

    /// Writes `line` (which ends in a newline) to stdout in one piece.
    static func write(_ line: String) {
        lock.lock()
        FileHandle.standardOutput.write(Data(line.utf8))
        lock.unlock()
    }
}
