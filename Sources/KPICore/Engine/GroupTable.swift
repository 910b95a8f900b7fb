/// The label sets one metric has seen, each given a dense group number.
///
/// Lookup hashes the group-by fields of an event (no allocation) and verifies the stored values
/// byte for byte, so two label sets never merge even if their hashes collide. A new label set
/// costs one copy of its values and its canonical JSON.
///
/// A group is one canonical label JSON (the key of a stored row): values of different JSON kinds
/// with the same label text (the number `200` and the string `"200"`) are entries of one group.
struct GroupTable {
    let slots: [Int]
    let names: [String]
    /// Hash of the values → entry.
    private var index: [UInt64: Int32] = [:]
    /// The values of each entry, as decoded (kinds kept), and its group.
    private(set) var values: [[LabelValue]] = []
    private var entryGroup: [Int32] = []
    private var groupByJSON: [String: Int32] = [:]
    /// Canonical label JSON per group.
    private(set) var json: [String] = []

    init(slots: [Int], names: [String]) {
        self.slots = slots
        self.names = names
        if slots.isEmpty {
            values = [[]]
            entryGroup = [0]
            json = ["{}"]
        }
    }

    var count: Int { json.count }

    /// The group of the event whose fields are `fields`, created when new.
    @inline(__always)
    mutating func group(for fields: UnsafeBufferPointer<FieldValue>) -> Int32 {
        if slots.isEmpty { return 0 }
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for s in slots {
            var f = fields[s]
            if f.kind == .absent { f.kind = .null }
            h = ValueHash.mix(h ^ ValueHash.hash(f)) &+ 0x9E37_79B9_7F4A_7C15
        }
        while true {
            guard let e = index[h] else { break }
            if verify(Int(e), fields) { return entryGroup[Int(e)] }
            h &+= 1 // a 64-bit collision between different label sets: probe on
        }
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
        index[h] = Int32(values.count)
        values.append(vals)
        entryGroup.append(g)
        return g
    }

    @inline(__always)
    private func verify(_ g: Int, _ fields: UnsafeBufferPointer<FieldValue>) -> Bool {
        let vals = values[g]
        for (i, s) in slots.enumerated() where !vals[i].matches(fields[s]) { return false }
        return true
    }
}
