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
        try store.appendJournal(batch, sources: ["s"], publishers: [], compression: .none)
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

    // MARK: - Compression

    /// The frames of a message of `lines` NDJSON lines, and random bytes that LZ4 cannot shrink.
    func ndjson(_ lines: Int) -> String {
        (0..<lines).map { #"{"type":"click","ts":\#(1_763_856_000_000 + $0),"visitor":"v\#($0 % 37)","retailer":"r\#($0 % 5)"}"# }
            .joined(separator: "\n")
    }

    func randomFrame(_ count: Int, seed: UInt64) -> String {
        var rng = SplitMix64(seed: seed)
        // Printable but random: LZ4 finds no 4-byte repeat worth encoding.
        return String((0..<count).map { _ in Character(UnicodeScalar(UInt8(33 + rng.next() % 94))) })
    }

    /// (seq, raw_bytes, length(frames)) of every row.
    func storedSizes(_ path: String) throws -> [(Int64, Int?, Int)] {
        try DatabaseQueue(path: path).read { db in
            try Row.fetchAll(db, sql: "SELECT seq, raw_bytes, length(frames) FROM journal ORDER BY seq").map { ($0[0], $0[1], $0[2]) }
        }
    }

    func testLZ4RowsReadBackExactlyAndOnlyShrinkingBlobsAreCompressed() throws {
        let store = try KPIStore(path: path())
        let batch = JournalBatch()
        let big = ndjson(200), random = randomFrame(5_000, seed: 7)
        append(batch, seq: 1, at: 1, [big])
        append(batch, seq: 2, source: 1, publisher: 0, at: 2, ["click", big])
        append(batch, seq: 3, at: 3, [#"{"type":"a"}"#])
        append(batch, seq: 4, at: 4, [random])
        try store.appendJournal(batch, sources: ["api", "web"], publishers: ["shop"], compression: .lz4)
        let sizes = try storedSizes(path())
        // Encoded size: 1 byte of frame count, 4 of first-frame length, then the frames.
        XCTAssertEqual(sizes[0].1, 5 + big.utf8.count)
        XCTAssertLessThan(sizes[0].2, big.utf8.count / 3, "NDJSON shrinks several times")
        XCTAssertEqual(sizes[1].1, 5 + 5 + big.utf8.count)
        XCTAssertNil(sizes[2].1, "shorter than LZ4's minimum: stored as encoded")
        XCTAssertEqual(sizes[2].2, 5 + 12)
        XCTAssertNil(sizes[3].1, "random bytes do not shrink: stored as encoded")
        XCTAssertEqual(sizes[3].2, 5 + 5_000)
        let rows = try replay(store, after: 0)
        XCTAssertEqual(rows.map(\.0), [1, 2, 3, 4])
        XCTAssertEqual(rows[0].5, big)
        XCTAssertEqual(rows[0].4, 1)
        XCTAssertEqual(rows[1].1, "web")
        XCTAssertEqual(rows[1].2, "shop")
        XCTAssertEqual(rows[1].4, 2)
        XCTAssertEqual(rows[1].5, "click")
        XCTAssertEqual(rows[1].6, big)
        XCTAssertEqual(rows[2].5, #"{"type":"a"}"#)
        XCTAssertEqual(rows[3].5, random)
    }

    func testCompressionNoneStoresEveryBlobAsEncoded() throws {
        let store = try KPIStore(path: path())
        let batch = JournalBatch()
        append(batch, seq: 1, at: 1, [ndjson(50)])
        try store.appendJournal(batch, sources: ["s"], publishers: [], compression: .none)
        XCTAssertEqual(try storedSizes(path()).map(\.1), [nil])
        XCTAssertEqual(try replay(store, after: 0).map(\.5), [ndjson(50)])
    }

    /// Rows written before `v8-journal-compression` (no `raw_bytes`) replay as they are, next to
    /// compressed ones; a compressed row that does not decompress to its `raw_bytes` comes back
    /// damaged, and the rows around it intact.
    func testOlderRowsReplayAndADamagedRowIsReportedWithoutStoppingTheRest() throws {
        let store = try KPIStore(path: path())
        let batch = JournalBatch()
        append(batch, seq: 2, at: 2, [ndjson(40)])
        append(batch, seq: 3, at: 3, [ndjson(41)])
        append(batch, seq: 4, at: 4, [ndjson(42)])
        try store.appendJournal(batch, sources: ["s"], publishers: [], compression: .lz4)
        let older = [UInt8]([1, 3, 0, 0, 0]) + Array("old".utf8)
        try DatabaseQueue(path: path()).write { db in
            try db.execute(sql: "INSERT INTO journal (seq, source, publisher, received_at, frames) VALUES (1, 's', NULL, 1, ?)",
                           arguments: [Data(older)])
            // Seq 3: a valid LZ4 block's bytes cut short.
            try db.execute(sql: "UPDATE journal SET frames = substr(frames, 1, length(frames) - 9) WHERE seq = 3")
        }
        var damaged: [Int64] = []
        var intact: [(Int64, String)] = []
        try store.readJournal(after: 0) { r in
            if r.isDamaged { damaged.append(r.seq) } else { intact.append((r.seq, String(decoding: r.first, as: UTF8.self))) }
        }
        XCTAssertEqual(damaged, [3])
        XCTAssertEqual(intact.map(\.0), [1, 2, 4])
        XCTAssertEqual(intact.map(\.1), ["old", ndjson(40), ndjson(42)])
    }
}
