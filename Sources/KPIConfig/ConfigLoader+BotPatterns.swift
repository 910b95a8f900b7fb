import KPICore

extension ConfigCompiler {
    /// Loads and checks the bot pattern files of `directory` (see ``BotPatternFiles``); nil after
    /// reporting, under the pipeline's `key` and line, what is wrong and in which file.
    mutating func botPatterns(directory: String, key: String) -> BotPatternSet? {
        do throws(ConfigError) {
            return try BotPatternFiles.load(directory: directory)
        } catch {
            fail(key, "cannot load the bot patterns of \(quoted(directory)): \(error.description)",
                 hint: "bot_patterns names a directory holding crawler-user-agents.json, supplement.txt, allow.txt and browser-markers.txt (see conf/bots/README.md)")
            return nil
        }
    }
}
