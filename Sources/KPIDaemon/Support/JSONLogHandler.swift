import Foundation
import KPICore
import Logging

/// A swift-log handler that writes one JSON object per record to stdout (`--log-format json`),
/// for log pipelines that parse JSON: `{"ts":"2026-11-23T10:00:00.123Z","level":"info",
/// "msg":"kpid ready","sources":"2"}`. Metadata values are strings; keys are sorted after `ts`,
/// `level` and `msg`, so lines diff well.
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]

    public init(label: String, level: Logger.Level = .info) {
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let quote = CanonicalLabels.quote
        var line = "{\"ts\":\(quote(LogLine.timestamp())),\"level\":\(quote(event.level.rawValue))"
        line += ",\"msg\":\(quote("\(event.message)"))"
        for (k, v) in LogLine.metadata(metadata, event.metadata) where k != "ts" && k != "level" && k != "msg" {
            line += ",\(quote(k)):\(quote("\(v)"))"
        }
        LogLine.write(line + "}\n")
    }
}
