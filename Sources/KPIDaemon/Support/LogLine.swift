import Foundation
import Logging

/// What the two log handlers (``LogfmtLogHandler``, ``JSONLogHandler``) share: a record's
/// metadata over the handler's, sorted by key, and one locked write of each whole line to stdout,
/// so lines of concurrent records never interleave.
enum LogLine {
    private static let lock = NSLock()

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
