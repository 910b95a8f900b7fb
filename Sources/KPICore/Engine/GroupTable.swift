/// The label sets one metric has seen, each given a dense group number.
///
/// Lookup hashes the group-by fields of an event (no allocation) and verifies the stored values
/// byte for byte, so two label sets never merge even if their hashes collide. A new label set
/// costs one copy of its values and its canonical JSON.
struct GroupTable {
    let slots: [Int]
    let names: [String]
    private var index: [UInt64: Int32] = [:]
    private(set) var values: [[LabelValue]] = []
    private(set) var json: [String] = []

    init(slots: [Int], names: [String]) {
        self.slots = slots
        self.names = names
        if slots.isEmpty {
            values = [[]]
            json = ["{}"]
        }
    }

    var count: Int { values.count }

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
            guard let g = index[h] else { break }
            if verify(Int(g), fields) { return g }
            h &+= 1 // a 64-bit collision between different label sets: probe on
        }
        let g = Int32(values.count)
        let vals = slots.map { LabelValue(fields[$0]) }
        values.append(vals)
        json.append(CanonicalLabels.json(names: names, values: vals))
        index[h] = g
        return g
    }

    @inline(__always)
    private func verify(_ g: Int, _ fields: UnsafeBufferPointer<FieldValue>) -> Bool {
        let vals = values[g]
        for (i, s) in slots.enumerated() where !vals[i].matches(fields[s]) { return false }
        return true
    }
}
