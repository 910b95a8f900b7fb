import ArgumentParser
import Foundation
import KPIConfig

/// `kpictl check-config FILE`: validates a config and prints what it compiled to.
struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a kpid config; print what it compiled to, or the error with key and line (exit 78)."
    )

    @Argument(help: "Path of the TOML config.")
    var file: String

    func run() throws {
        do {
            let config = try ConfigLoader.load(contentsOf: file)
            print(ConfigSummary.describe(config))
        } catch {
            let e: ConfigError = error
            FileHandle.standardError.write(Data("kpictl: invalid config: \(e)\n".utf8))
            throw ExitCode(ConfigError.exitCode)
        }
    }
}
