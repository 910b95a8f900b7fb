import KPICore

extension ConfigCompiler {
    /// Loads the bot patterns of `directory`; nil after reporting an error under `key`.
    mutating func botPatterns(directory: String, key: String) -> BotPatternSet? {
        // Filled in when the bot pattern files land.
        BotPatternSet(directory: directory)
    }
}
