import ArgumentParser

/// `kpictl`: the companion tool of kpid — publish and simulate events, query aggregates, and
/// validate configs.
@main
struct Kpictl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kpictl",
        abstract: "Publish events to kpid, query its SQLite aggregates, and check configs.",
        subcommands: [PublishCommand.self, SimulateCommand.self, QueryCommand.self, CheckConfigCommand.self, SinkCommand.self,
                      KeygenCommand.self, BotCheckCommand.self, AlertsCommand.self, NotifyTestCommand.self]
    )
}
