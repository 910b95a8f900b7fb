import CLZ4
import Foundation
import GRDB
import KPICore

/// Received messages waiting to be committed to the `journal` table: one contiguous byte buffer
/// holding every message's encoded frames, and one fixed-size entry per message.
///
/// The ingest loop appends to it (a `memcpy` per frame, no allocation once the buffer has grown
/// to its working size) and hands the whole batch to the flush writer, which commits it and
/// gives it back for reuse. One owner at a time: the loop while filling, the writer while
/// committing.
///
/// A message's `frames` blob is: 1 byte, the frame count of the message (255 for 255 or more);
/// 4 bytes, the length of the first frame (unsigned, little-endian); the first frame; then the
/// second frame, to the end of the blob (absent for a one-frame message). Frames beyond the
/// second are not kept: the pipeline rejects such a message as `too_many_frames` from its count
/// and first frame alone.
public final class JournalBatch: @unchecked Sendable {
    /// One message: its `seq`, source and publisher indexes (-1: none), receive time, and where
    /// its blob lies in the buffer.
    public struct Entry: Sendable {
        public var seq: Int64
        public var source: Int32
        public var publisher: Int32
        public var receivedAt: EpochMillis
        public var offset: Int
        public var count: Int
    }

    public private(set) var entries: [Entry] = []
    /// Bytes of all encoded messages.
    public private(set) var byteCount = 0
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int

    public init(capacity: Int = 64 << 10) {
        self.capacity = max(64, capacity)
        storage = UnsafeMutableRawPointer.allocate(byteCount: self.capacity, alignment: 8)
        entries.reserveCapacity(1024)
    }

    deinit { storage.deallocate() }

    public var isEmpty: Bool { entries.isEmpty }
    /// The `seq` of the last message appended.
    public var lastSeq: Int64? { entries.last?.seq }

    /// The bytes ``append(seq:source:publisher:receivedAt:frameCount:first:second:)`` adds for a
    /// message: a frame count, the first frame's length, and the first two frames.
    @inline(__always)
    public static func encodedSize(frameCount: Int, first: UnsafeRawBufferPointer, second: UnsafeRawBufferPointer) -> Int {
        5 + first.count + (frameCount > 1 ? second.count : 0)
    }

    /// Appends one message (`frameCount` ≥ 1; `second` is ignored for one frame).
    @inline(__always)
    public func append(seq: Int64, source: Int, publisher: Int, receivedAt: EpochMillis, frameCount: Int,
                       first: UnsafeRawBufferPointer, second: UnsafeRawBufferPointer) {
        let secondCount = frameCount > 1 ? second.count : 0
        let size = Self.encodedSize(frameCount: frameCount, first: first, second: second)
        if byteCount + size > capacity { grow(to: byteCount + size) }
        let p = storage + byteCount
        p.storeBytes(of: UInt8(truncatingIfNeeded: min(frameCount, 255)), as: UInt8.self)
        p.storeBytes(of: UInt32(truncatingIfNeeded: first.count).littleEndian, toByteOffset: 1, as: UInt32.self)
        if let base = first.baseAddress, first.count > 0 { (p + 5).copyMemory(from: base, byteCount: first.count) }
        if secondCount > 0, let base = second.baseAddress { (p + 5 + first.count).copyMemory(from: base, byteCount: secondCount) }
        entries.append(Entry(seq: seq, source: Int32(truncatingIfNeeded: source), publisher: Int32(truncatingIfNeeded: publisher),
                             receivedAt: receivedAt, offset: byteCount, count: size))
        byteCount += size
    }

    /// The encoded blob of `entry`, valid until the batch changes.
    public func blob(_ entry: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: storage + entry.offset, count: entry.count)
    }

    /// Empties the batch, keeping its capacity.
    public func removeAll() {
        entries.removeAll(keepingCapacity: true)
        byteCount = 0
    }

    private func grow(to needed: Int) {
        var c = capacity
        while c < needed { c *= 2 }
        let bigger = UnsafeMutableRawPointer.allocate(byteCount: c, alignment: 8)
        bigger.copyMemory(from: storage, byteCount: byteCount)
        storage.deallocate()
        storage = bigger
        capacity = c
    }
}

/// One journal row read back for replay; the frame buffers are valid only during the call.
public struct JournalRecord {
    public var seq: Int64
    public var source: String
    public var publisher: String?
    public var receivedAt: EpochMillis
    /// The message's frame count (1, 2, or more for a message the pipeline will reject).
    public var frameCount: Int
    public var first: UnsafeRawBufferPointer
    public var second: UnsafeRawBufferPointer
    /// The row's `frames` could not be read back (a compressed block that does not decompress to
    /// its `raw_bytes`, or a blob that is not an encoded message): `frameCount` is 0 and the
    /// frames are empty. Replay skips it and counts it.
    public var isDamaged: Bool { frameCount == 0 }

    /// Decodes a `frames` blob (see ``JournalBatch``); nil when it is not one.
    public static func decode(_ blob: UnsafeRawBufferPointer)
        -> (frameCount: Int, first: UnsafeRawBufferPointer, second: UnsafeRawBufferPointer)? {
        guard blob.count >= 5, let base = blob.baseAddress else { return nil }
        let count = Int(blob[0])
        let firstLength = Int(UInt32(littleEndian: blob.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
        guard count >= 1, 5 + firstLength <= blob.count else { return nil }
        let first = UnsafeRawBufferPointer(start: base + 5, count: firstLength)
        let second = UnsafeRawBufferPointer(start: base + 5 + firstLength, count: blob.count - 5 - firstLength)
        return (count, first, second)
    }
}

/// The event journal: `journal` rows (one per received message of a journaled source) and the
/// position of the last checkpoint in `journal_checkpoint`.
extension KPIStore {
    /// Commits a batch in one transaction. `sources` and `publishers` name the entries' indexes.
    /// With `.lz4`, each message's blob is stored as an LZ4 block (and its size in `raw_bytes`)
    /// when that is smaller; the compression runs here, on the writer's thread, into one buffer
    /// per commit.
    public func appendJournal(_ batch: JournalBatch, sources: [String], publishers: [String],
                              compression: JournalCompression = .lz4) throws {
        guard !batch.isEmpty else { return }
        try pool.write { db in
            var compressor = compression == .lz4 ? JournalLZ4() : nil
            defer { compressor?.release() }
            let insert = try db.cachedStatement(sql: """
                INSERT INTO journal (seq, source, publisher, received_at, frames, raw_bytes) VALUES (?, ?, ?, ?, ?, ?)
                """)
            for e in batch.entries {
                var blob = batch.blob(e)
                var rawBytes: Int?
                if let packed = compressor?.compress(blob) {
                    rawBytes = blob.count
                    blob = packed
                }
                let data = Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: blob.baseAddress!), count: blob.count,
                                deallocator: .none)
                let source = Int(e.source) < sources.count ? sources[Int(e.source)] : "?"
                let publisher: String? = e.publisher >= 0 && Int(e.publisher) < publishers.count ? publishers[Int(e.publisher)] : nil
                try insert.execute(arguments: [e.seq, source, publisher, e.receivedAt, data, rawBytes])
            }
        }
    }

    /// The position of the last checkpoint (0 when none was written).
    public func journalPosition() throws -> Int64 {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT position FROM journal_checkpoint WHERE id = 1") ?? 0 }
    }

    /// The largest `seq` in the journal or its checkpoint (0 for an empty journal): numbering
    /// continues after it.
    public func lastJournalSeq() throws -> Int64 {
        try pool.read { db in
            try Int64.fetchOne(db, sql: """
                SELECT MAX(COALESCE((SELECT MAX(seq) FROM journal), 0),
                           COALESCE((SELECT position FROM journal_checkpoint WHERE id = 1), 0))
                """) ?? 0
        }
    }

    static func writeJournalPosition(_ position: Int64, db: Database) throws {
        try db.cachedStatement(sql: """
            INSERT INTO journal_checkpoint (id, position) VALUES (1, ?)
            ON CONFLICT (id) DO UPDATE SET position = excluded.position
            """).execute(arguments: [position])
    }

    /// Calls `body` for every journal row with `seq` after `position`, in `seq` order, inside one
    /// read transaction; a compressed row is decompressed first, and a row that cannot be read
    /// back comes as a damaged record (``JournalRecord/isDamaged``). Returns the number of rows read.
    @discardableResult
    public func readJournal(after position: Int64, _ body: (JournalRecord) throws -> Void) throws -> Int {
        try pool.read { db in
            var lz4 = JournalLZ4()
            defer { lz4.release() }
            var n = 0
            let rows = try Row.fetchCursor(db, sql: """
                SELECT seq, source, publisher, received_at, frames, raw_bytes FROM journal WHERE seq > ? ORDER BY seq
                """, arguments: [position])
            while let row = try rows.next() {
                n += 1
                let data: Data = row.dataNoCopy(atIndex: 4) ?? Data()
                let rawBytes: Int? = row[5]
                var record = JournalRecord(seq: row[0], source: row[1], publisher: row[2], receivedAt: row[3], frameCount: 0,
                                           first: UnsafeRawBufferPointer(start: nil, count: 0),
                                           second: UnsafeRawBufferPointer(start: nil, count: 0))
                try data.withUnsafeBytes { (stored: UnsafeRawBufferPointer) in
                    let blob = rawBytes == nil ? stored : lz4.decompress(stored, rawBytes: rawBytes!)
                    if let blob, let (count, first, second) = JournalRecord.decode(blob) {
                        (record.frameCount, record.first, record.second) = (count, first, second)
                    }
                    try body(record)
                }
            }
            return n
        }
    }

    /// Deletes, oldest first, at most `limit` journal rows that the checkpoint covers
    /// (`seq <= position`) and that were received before `cutoff`. It stops at the first row
    /// received at or after `cutoff`, so a wall clock that went back can delay pruning but never
    /// deletes a row younger than the retention. Returns the rows deleted.
    @discardableResult
    public func pruneJournal(receivedBefore cutoff: EpochMillis, upTo position: Int64, limit: Int = 5_000) throws -> Int {
        try pool.write { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT seq, received_at FROM journal WHERE seq <= ? ORDER BY seq LIMIT ?",
                                           arguments: [position, limit])
            var last: Int64?
            while let row = try rows.next() {
                guard (row[1] as EpochMillis) < cutoff else { break }
                last = row[0]
            }
            guard let last else { return 0 }
            try db.execute(sql: "DELETE FROM journal WHERE seq <= ?", arguments: [last])
            return db.changesCount
        }
    }

    /// Rows in the journal (for tests and `kpictl`).
    public func journalCount() throws -> Int {
        try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM journal") ?? 0 }
    }
}

/// LZ4 block compression of journal blobs, with one output buffer reused for every message of a
/// commit (or every row of a replay). Call ``release()`` when done.
struct JournalLZ4 {
    private var buffer: UnsafeMutableRawPointer?
    private var capacity = 0

    /// Blobs shorter than this are stored as they are: LZ4 cannot make them much smaller.
    static let minimumBytes = 64

    /// `blob` as an LZ4 block, valid until the next call; nil when that would not be smaller.
    mutating func compress(_ blob: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer? {
        guard blob.count >= Self.minimumBytes, blob.count <= Int(LZ4_MAX_INPUT_SIZE), let source = blob.baseAddress else {
            return nil
        }
        let bound = Int(LZ4_compressBound(Int32(blob.count)))
        let out = reserve(bound)
        let n = Int(LZ4_compress_default(source.assumingMemoryBound(to: CChar.self), out.assumingMemoryBound(to: CChar.self),
                                         Int32(blob.count), Int32(bound)))
        guard n > 0, n < blob.count else { return nil }
        return UnsafeRawBufferPointer(start: out, count: n)
    }

    /// The `rawBytes` bytes that the LZ4 block `block` holds, valid until the next call; nil
    /// when it is not such a block.
    mutating func decompress(_ block: UnsafeRawBufferPointer, rawBytes: Int) -> UnsafeRawBufferPointer? {
        guard rawBytes > 0, rawBytes <= Int(LZ4_MAX_INPUT_SIZE), block.count <= Int(Int32.max),
              let source = block.baseAddress else { return nil }
        let out = reserve(rawBytes)
        let n = LZ4_decompress_safe(source.assumingMemoryBound(to: CChar.self), out.assumingMemoryBound(to: CChar.self),
                                    Int32(block.count), Int32(rawBytes))
        return n == Int32(rawBytes) ? UnsafeRawBufferPointer(start: out, count: rawBytes) : nil
    }

    private mutating func reserve(_ bytes: Int) -> UnsafeMutableRawPointer {
        if let buffer, capacity >= bytes { return buffer }
        buffer?.deallocate()
        capacity = max(bytes, 64 << 10)
        let b = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        buffer = b
        return b
    }

    mutating func release() {
        buffer?.deallocate()
        buffer = nil
        capacity = 0
    }
}
