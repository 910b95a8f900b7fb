import Foundation
import Logging

/// A swift-log handler that writes one JSON object per record to stdout (`--log-format json`),
/// for log pipelines that parse JSON: `{"ts":"2026-11-23T10:00:00.123Z","level":"info",
/// "msg":"kpid ready","sources":"2"}`. Metadata values are strings; keys are sorted after `ts`,
/// `level` and `msg`, so lines diff well.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private static let lock = NSLock()

    public init(label: String, level: Logger.Level = .info) {
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "{\"ts\":\(Self.quote(LogfmtLogHandler.timestamp())),\"level\":\(Self.quote(event.level.rawValue))"
        line += ",\"msg\":\(Self.quote("\(event.message)"))"
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        for (k, v) in all.sorted(by: { $0.key < $1.key }) where !["ts", "level", "msg"].contains(k) {
            line += ",\(Self.quote(k)):\(Self.quote("\(v)"))"
        }
        line += "}\n"
        Self.lock.lock()
        FileHandle.standardOutput.write(Data(line.utf8))
        Self.lock.unlock()
    }

    /// A JSON string literal (RFC 8259 escapes).
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }
}
