/// A configuration that cannot be used, located by key and line.
///
///     conf/kpid.toml:42: metrics[2].aggregate: unknown aggregate "p95(x)" (hint: one of count, sum(field), ...)
///
/// `kpid` and `kpictl` exit with ``exitCode`` (`EX_CONFIG`) when they meet one.
public struct ConfigError: Error, CustomStringConvertible, Sendable, Equatable {
    /// Dotted path of the offending key: `metrics[2].aggregate`, `kpid.time_zone`, `sources[0]`.
    /// Empty for errors about the whole document (a TOML syntax error, an unreadable file).
    public var key: String
    /// 1-based line in the file, when known.
    public var line: Int?
    /// 1-based column, when known (TOML syntax errors).
    public var column: Int?
    public var message: String
    /// What to write instead, when there is a good guess.
    public var hint: String?
    /// The file, as given to the loader.
    public var file: String?

    /// `EX_CONFIG` from sysexits.h.
    public static let exitCode: Int32 = 78

    public init(key: String, line: Int?, column: Int? = nil, message: String, hint: String? = nil, file: String? = nil) {
        self.key = key
        self.line = line
        self.column = column
        self.message = message
        self.hint = hint
        self.file = file
    }

    /// `file:line: key: message (hint: ...)`; parts that are unknown are left out.
    public var description: String {
        var out = ""
        switch (file, line) {
        case let (file?, line?): out = "\(file):\(line): "
        case let (file?, nil): out = "\(file): "
        case let (nil, line?): out = "line \(line): "
        case (nil, nil): break
        }
        if !key.isEmpty { out += "\(key): " }
        out += message
        if let hint { out += " (hint: \(hint))" }
        return out
    }
}

/// Several configuration errors, in the order of the file. ``ConfigLoader`` throws the first
/// one; ``ConfigLoader/diagnose(_:file:)`` returns them all.
extension Array where Element == ConfigError {
    /// One error per line, as `kpictl check-config` prints them.
    public var configDescription: String { map(\.description).joined(separator: "\n") }
}
