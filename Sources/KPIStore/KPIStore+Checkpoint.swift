import GRDB

/// WAL checkpoints off the writer's path.
///
/// SQLite's default copies the WAL back into the database file from the writing connection
/// every 1,000 pages (4 MiB), with an fsync each time: with the event journal (hundreds of MB per
/// second of received messages at full rate) that put the writer to sleep on the disk many times a
/// second. Instead the writer only checkpoints itself past ``writerAutoCheckpointPages`` (a safety
/// net), and ``checkpointWAL()`` runs PASSIVE checkpoints from a connection of its own, which
/// never blocks the writer or the readers.
extension KPIStore {
    /// WAL pages past which the writer checkpoints by itself: 1 GiB at 64 KiB pages (256 MiB in a
    /// file created with 16 KiB pages, 64 MiB with 4 KiB pages, by an older kpid).
    static let writerAutoCheckpointPages = 16_384

    static func openCheckpointer(_ pool: DatabasePool, path: String) throws -> DatabaseQueue {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(writerAutoCheckpointPages)")
        }
        var config = Configuration()
        config.label = "kpid.checkpointer"
        config.busyMode = .timeout(5)
        return try DatabaseQueue(path: path, configuration: config)
    }

    /// Copies the committed WAL pages into the database file (a PASSIVE checkpoint: it does
    /// not wait for the writer or the readers, and copies what it can). Returns the WAL's frame
    /// count and the frames checkpointed.
    @discardableResult
    public func checkpointWAL() throws -> (walFrames: Int, checkpointed: Int) {
        guard let checkpointer else { return (0, 0) }
        let r = try checkpointer.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        return (r.walFrameCount, r.checkpointedFrameCount)
    }
}
