/// The label sets the metrics grouping by one list of fields have seen, each given a dense group
/// number.
///
/// Lookup hashes the group-by fields of an event (no allocation), finds candidates in a
/// ``HashIndex`` and verifies the stored values byte for byte, so two label sets never merge
/// even if their hashes collide. The stored values are kept flat (one plain record per value,
/// string bytes in one shared buffer), so a lookup does no reference counting.
///
/// A group is one canonical label JSON (the key of a stored row): values of different JSON kinds
/// with the same label text (the number `200` and the string `"200"`) are entries of one group.
///
/// Memory per label set: 32 bytes per group-by value plus its string bytes, 24–48 bytes in the
/// index, and its canonical JSON. A new label set costs those copies (allocation); a known one
/// costs nothing but the hash and the comparison.
final class GroupTable {
    let slots: [Int]
    let names: [String]
    /// Hash of the values → entry.
    private let index = HashIndex()
    /// One decoded value, as kept for verification: `.null` stands for absent and null alike;
    /// `number` is the number (-0 stored as 0) or 1/0 for a bool; strings are
    /// `bytes[offset ..< offset + count]`.
    private struct StoredValue {
        var kind: FieldValue.Kind
        var number: Double
        var offset: Int
        var count: Int
    }
    /// The values of entry `e` are `stored[e * slots.count ..< (e + 1) * slots.count]`.
    private var stored: ContiguousArray<StoredValue> = []
    private var bytes: ContiguousArray<UInt8> = []
    private var entryGroup: ContiguousArray<Int32> = []
    private var groupByJSON: [String: Int32] = [:]
    /// Canonical label JSON per group.
    private(set) var json: [String] = []
    /// The last event looked up (see ``existingGroup(for:event:)``), its group (-1: not in the
    /// table) and the hash of its values.
    private var memoEvent: UInt64 = 0
    private var memoGroup: Int32 = 0
    private var memoHash: UInt64 = 0
    /// The group `{"__overflow__":"true"}` once created (see ``overflowGroup``), or -1.
    private var overflow: Int32 = -1
    /// Groups restored from a checkpoint (``restoreGroup(json:)``) that no event has looked up
    /// since: they have a group number but no index entry.
    private var unindexed: Set<Int32> = []

    init(slots: [Int], names: [String]) {
        self.slots = slots
        self.names = names
        if slots.isEmpty { json = ["{}"] }
    }

    /// Number of groups (distinct canonical label sets).
    var count: Int { json.count }

    /// The label set of events counted beyond a metric's cap (see ``LabelBudget``).
    static let overflowJSON = #"{"__overflow__":"true"}"#

    /// The overflow group of this table, created on first use (an allocation, once). It has no
    /// entry in the index: no event's values look it up.
    var overflowGroup: Int32 {
        if overflow < 0 {
            if let existing = groupByJSON[Self.overflowJSON] {
                overflow = existing
            } else {
                overflow = Int32(json.count)
                json.append(Self.overflowJSON)
                groupByJSON[Self.overflowJSON] = overflow
            }
        }
        return overflow
    }

    /// The group of the event whose fields are `fields`, or -1 when its label set is not in the
    /// table (nothing is inserted; see ``insertGroup(for:event:)``). `event` numbers the event
    /// (never 0, a new number per event): a second lookup of the same event, by another metric
    /// sharing this table, returns the first answer without hashing again.
    @inline(__always)
    func existingGroup(for fields: UnsafeBufferPointer<FieldValue>, event: UInt64) -> Int32 {
        if slots.isEmpty { return 0 }
        if event == memoEvent { return memoGroup }
        let h = hash(fields)
        let e = index.find(h) { verify(Int($0), fields) }
        let g = e >= 0 ? entryGroup[Int(e)] : -1
        memoEvent = event
        memoGroup = g
        memoHash = h
        return g
    }

    /// The group of the event, inserted when new: ``existingGroup(for:event:)`` then
    /// ``insertGroup(for:event:)``.
    func group(for fields: UnsafeBufferPointer<FieldValue>, event: UInt64) -> Int32 {
        let g = existingGroup(for: fields, event: event)
        return g >= 0 ? g : insertGroup(for: fields, event: event)
    }

    /// Inserts the label set of the event `event`, for which ``existingGroup(for:event:)`` just
    /// returned -1, and returns its group. Allocates (the stored values and the label JSON).
    func insertGroup(for fields: UnsafeBufferPointer<FieldValue>, event: UInt64) -> Int32 {
        let h = event == memoEvent ? memoHash : hash(fields)
        let g = insert(h, fields)
        memoEvent = event
        memoGroup = g
        memoHash = h
        return g
    }

    @inline(__always)
    private func hash(_ fields: UnsafeBufferPointer<FieldValue>) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for s in slots {
            var f = fields[s]
            if f.kind == .absent { f.kind = .null }
            h = ValueHash.mix(h ^ ValueHash.hash(f)) &+ 0x9E37_79B9_7F4A_7C15
        }
        return h
    }

    @inline(__always)
    private func verify(_ entry: Int, _ fields: UnsafeBufferPointer<FieldValue>) -> Bool {
        var i = entry &* slots.count
        for s in slots {
            let v = stored[i]
            let f = fields[s]
            i &+= 1
            switch v.kind {
            case .string:
                guard f.kind == .string, f.string.count == v.count else { return false }
                if v.count > 0 {
                    let same = bytes.withUnsafeBytes { b in
                        bytesEqual(b.baseAddress! + v.offset, f.string.baseAddress!, v.count)
                    }
                    if !same { return false }
                }
            case .number:
                if f.kind != .number || f.number != v.number { return false }
            case .bool:
                if f.kind != .bool || (f.number != 0) != (v.number != 0) { return false }
            case .null, .absent:
                if f.kind != .null && f.kind != .absent { return false }
            }
        }
        return true
    }

    private func insert(_ h: UInt64, _ fields: UnsafeBufferPointer<FieldValue>) -> Int32 {
        let vals = slots.map { LabelValue(fields[$0]) }
        let text = CanonicalLabels.json(names: names, values: vals)
        let g: Int32
        if let existing = groupByJSON[text] {
            g = existing
        } else {
            g = Int32(json.count)
            json.append(text)
            groupByJSON[text] = g
        }
        if !unindexed.isEmpty { unindexed.remove(g) }
        let entry = Int32(entryGroup.count)
        for v in vals {
            switch v {
            case .string(let s):
                stored.append(StoredValue(kind: .string, number: 0, offset: bytes.count, count: s.count))
                bytes.append(contentsOf: s)
            case .number(let d): stored.append(StoredValue(kind: .number, number: d, offset: 0, count: 0))
            case .bool(let b): stored.append(StoredValue(kind: .bool, number: b ? 1 : 0, offset: 0, count: 0))
            case .null: stored.append(StoredValue(kind: .null, number: 0, offset: 0, count: 0))
            }
        }
        entryGroup.append(g)
        index.insert(h, entry)
        return g
    }

    // MARK: - Checkpoints

    /// The group of the canonical label JSON `json`, added when new, for restoring a checkpoint.
    /// The label JSON does not keep the kinds of the values (the number 200 and the string "200"
    /// are one group), so a restored group gets its index entries when events of it arrive
    /// (``insertGroup(for:event:)`` finds it by its JSON); until then it is listed as unindexed.
    func restoreGroup(json text: String) -> Int32 {
        if text == Self.overflowJSON { return overflowGroup }
        if slots.isEmpty { return 0 }
        if let existing = groupByJSON[text] { return existing }
        let g = Int32(json.count)
        json.append(text)
        groupByJSON[text] = g
        if !slots.isEmpty { unindexed.insert(g) }
        return g
    }

    /// The restored, still unindexed group whose label JSON is that of the event's fields, or nil.
    /// Free while no restored group is unindexed; otherwise builds the label JSON (allocates).
    func restoredGroup(for fields: UnsafeBufferPointer<FieldValue>) -> Int32? {
        guard !unindexed.isEmpty else { return nil }
        let text = CanonicalLabels.json(names: names, values: slots.map { LabelValue(fields[$0]) })
        guard let g = groupByJSON[text], unindexed.contains(g) else { return nil }
        return g
    }
}
