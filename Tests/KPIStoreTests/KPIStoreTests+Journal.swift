import Foundation
import GRDB
import KPICore
import XCTest
@testable import KPIStore

/// The `journal` and `journal_checkpoint` tables, and the WAL checkpoints, against a real
/// database file (``KPIStoreTests``' temporary directory).
extension KPIStoreTests {
    func append(_ batch: JournalBatch, seq: Int64, source: Int = 0, publisher: Int = -1, at: EpochMillis,
                _ frames: [String]) {
        let bytes = frames.map { Array($0.utf8) }
        bytes[0].withUnsafeBytes { first in
            (bytes.count > 1 ? bytes[1] : []).withUnsafeBytes { second in
                batch.append(seq: seq, source: source, publisher: publisher, receivedAt: at, frameCount: bytes.count,
                             first: first, second: second)
            }
        }
    }

    func replay(_ store: KPIStore, after position: Int64) throws -> [(Int64, String, String?, EpochMillis, Int, String, String)] {
        var out: [(Int64, String, String?, EpochMillis, Int, String, String)] = []
        try store.readJournal(after: position) { r in
            out.append((r.seq, r.source, r.publisher, r.receivedAt, r.frameCount,
                        String(decoding: r.first, as: UTF8.self), String(decoding: r.second, as: UTF8.self)))
        }
        return out
    }

    func testAppendedMessagesReadBackInSeqOrderWithFramesSourceAndPublisher() throws {
        let store = try KPIStore(path: path())
        let batch = JournalBatch(capacity: 64)  // forces the buffer to grow
        append(batch, seq: 1, at: 1_000, [#"{"type":"order"}"#])
        append(batch, seq: 2, source: 1, publisher: 0, at: 1_001, ["order", #"{"total":5}"#])
        append(batch, seq: 3, at: 1_002, [""])
        try store.appendJournal(batch, sources: ["api", "web"], publishers: ["shop"])
        let rows = try replay(store, after: 0)
        XCTAssertEqual(rows.map(\.0), [1, 2, 3])
        XCTAssertEqual(rows[0].1, "api")
        XCTAssertNil(rows[0].2)
        XCTAssertEqual(rows[0].4, 1)
        XCTAssertEqual(rows[0].5, #"{"type":"order"}"#)
        XCTAssertEqual(rows[1].1, "web")
        XCTAssertEqual(rows[1].2, "shop")
        XCTAssertEqual(rows[1].3, 1_001)
        XCTAssertEqual(rows[1].4, 2)
        XCTAssertEqual(rows[1].5, "order")
        XCTAssertEqual(rows[1].6, #"{"total":5}"#)
        XCTAssertEqual(rows[2].5, "", "an empty frame is kept as such")
        XCTAssertEqual(try replay(store, after: 2).map(\.0), [3])
    }

    func testRemoveAllKeepsTheBatchReusable() throws {
        let batch = JournalBatch()
        append(batch, seq: 1, at: 0, ["a"])
        XCTAssertEqual(batch.byteCount, 6)
        batch.removeAll()
        XCTAssertTrue(batch.isEmpty)
        XCTAssertEqual(batch.byteCount, 0)
        append(batch, seq: 2, at: 0, ["bc"])
        XCTAssertEqual(batch.lastSeq, 2)
        XCTAssertEqual(JournalRecord.decode(batch.blob(batch.entries[0])).map { String(decoding: $0.first, as: UTF8.self) }, "bc")
    }

    func testFlushStoresTheCheckpointPositionInTheSameTransaction() throws {
        let store = try KPIStore(path: path())
        XCTAssertEqual(try store.journalPosition(), 0)
        XCTAssertEqual(try store.lastJournalSeq(), 0)
        var flush = KPIStore.Flush(batch: FlushBatch(watermark: 0), now: 1)
        XCTAssertTrue(flush.isEmpty)
        flush.journalPosition = 7
        XCTAssertFalse(flush.isEmpty, "a flush that moves the checkpoint writes something")
        try store.write(flush)
        XCTAssertEqual(try store.journalPosition(), 7)
        flush.journalPosition = 9
        try store.write(flush)
        XCTAssertEqual(try store.journalPosition(), 9)
        XCTAssertEqual(try store.lastJournalSeq(), 9, "numbering continues after the checkpoint even with an empty journal")
        let batch = JournalBatch()
        append(batch, seq: 12, at: 0, ["x"])
        try store.appendJournal(batch, sources: ["s"], publishers: [])
        XCTAssertEqual(try store.lastJournalSeq(), 12)
        // Reopened, the position is still there.
        XCTAssertEqual(try KPIStore(path: path()).journalPosition(), 9)
    }

    func testPruneDeletesOnlyCheckpointedRowsPastRetentionInBoundedBatches() throws {
        let store = try KPIStore(path: path())
        let batch = JournalBatch()
        for seq in 1...20 { append(batch, seq: Int64(seq), at: Int64(seq) * 100, ["e\(seq)"]) }
        try store.appendJournal(batch, sources: ["s"], publishers: [])
        // Rows 1…15 are older than the cutoff, but the checkpoint covers only 1…10.
        XCTAssertEqual(try store.pruneJournal(receivedBefore: 1_600, upTo: 10, limit: 4), 4, "one bounded batch")
        XCTAssertEqual(try store.pruneJournal(receivedBefore: 1_600, upTo: 10, limit: 4), 4)
        XCTAssertEqual(try store.pruneJournal(receivedBefore: 1_600, upTo: 10, limit: 4), 2)
        XCTAssertEqual(try store.pruneJournal(receivedBefore: 1_600, upTo: 10, limit: 4), 0, "not checkpointed: kept")
        XCTAssertEqual(try store.pruneJournal(receivedBefore: 1_600, upTo: 20), 5, "checkpointed now: 11…15")
        XCTAssertEqual(try replay(store, after: 0).map(\.0), Array(16...20), "younger than the retention: kept")
    }

    func testPruneStopsAtTheFirstRowInsideRetention() throws {
        let store = try KPIStore(path: path())
        let batch = JournalBatch()
        // The wall clock went back between seq 2 and 3.
        for (seq, at) in [(1, 100), (2, 5_000), (3, 200), (4, 300)] { append(batch, seq: Int64(seq), at: Int64(at), ["e"]) }
        try store.appendJournal(batch, sources: ["s"], publishers: [])
        XCTAssertEqual(try store.pruneJournal(receivedBefore: 1_000, upTo: 4), 1)
        XCTAssertEqual(try store.journalCount(), 3, "rows behind a younger one wait for it")
    }

    /// WAL checkpoints from the store's own checkpointer connection.
    func testCheckpointCopiesTheCommittedWALPagesWithoutTheWriter() throws {
        let store = try KPIStore(path: path())
        let batch = JournalBatch()
        let frame = [UInt8](repeating: 0x61, count: 50_000)
        frame.withUnsafeBytes { f in
            for seq in 1...20 {
                batch.append(seq: Int64(seq), source: 0, publisher: -1, receivedAt: 0, frameCount: 1, first: f,
                             second: UnsafeRawBufferPointer(start: nil, count: 0))
            }
        }
        try store.appendJournal(batch, sources: ["s"], publishers: [])
        let r = try store.checkpointWAL()
        XCTAssertGreaterThan(r.walFrames, 1_000_000 / KPIStore.pageSize, "the journal's pages are in the WAL")
        XCTAssertEqual(r.checkpointed, r.walFrames, "no reader holds an old snapshot: everything is copied")
        XCTAssertEqual(try store.journalCount(), 20)
        XCTAssertEqual(try KPIStore(path: path(), readOnly: true).checkpointWAL().walFrames, 0,
                       "a read-only store has no checkpointer")
    }

    func testANewDatabaseHasTheStoresPageSize() throws {
        let path = path()
        _ = try KPIStore(path: path)
        let pageSize = try DatabaseQueue(path: path).read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") }
        XCTAssertEqual(pageSize, KPIStore.pageSize)
        XCTAssertEqual(try KPIStore(path: path).journalMode(), "wal", "reopened: still WAL, same pages")
    }
}
