import Foundation
import Logging

/// A swift-log handler that writes one logfmt line per record to stdout, which journald
/// captures as is: `ts=2026-11-23T10:00:00.123Z level=info msg="kpid ready" sources=2`.
public struct LogfmtLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    private let label: String

    public init(label: String, level: Logger.Level = .info) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line = "ts=\(LogLine.timestamp()) level=\(event.level.rawValue) msg=\(Self.quote("\(event.message)"))"
        for (k, v) in LogLine.metadata(metadata, event.metadata) {
            line += " \(k)=\(Self.quote("\(v)"))"
        }
        LogLine.write(line + "\n")
    }

    static func quote(_ s: String) -> String {
        let needs = s.isEmpty || s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" || $0 == "\n" || $0 == "\\" })
        guard needs else { return s }
        let escaped = s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
        return "\"\(escaped)\""
    }
}
