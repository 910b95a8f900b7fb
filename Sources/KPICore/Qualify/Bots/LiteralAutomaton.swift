/// An Aho–Corasick automaton over byte strings, matched ASCII-case-insensitively.
///
/// Built once from the literals of all patterns; a scan walks the text once (one table load per
/// byte) and reports every literal occurrence, overlapping ones included, with its end offset.
///
/// Layout: bytes are first mapped to classes (ASCII letters folded; bytes that occur in no
/// literal share class 0), then a dense `states × classes` table of `Int32` next states (the
/// failure links are compiled in, so there are no failure walks at scan time). Each state's
/// outputs (its own literal and those of its suffix states) are a slice of one flat array.
/// Memory: `4 × states × classes` bytes for the table plus the outputs; ~2,600 literals of
/// kpid's shipped lists give ~20k states × ~60 classes (about 5 MB). Scans allocate nothing.
struct LiteralAutomaton: Sendable {
    /// Byte → class, case folded.
    let classOf: [UInt8]
    let classCount: Int
    /// `next[state * classCount + class]`.
    let next: [Int32]
    /// Outputs of state `s` are `outputs[outputStart[s] ..< outputStart[s + 1]]` (literal ids).
    let outputStart: [Int32]
    let outputs: [Int32]
    /// Length of each literal, by id.
    let literalLengths: [Int32]

    var stateCount: Int { outputStart.count - 1 }

    /// Literals are folded to ASCII lower case; ids are their positions in `literals`.
    /// Empty literals are not allowed (they would match everywhere).
    init(literals: [[UInt8]]) {
        precondition(!literals.contains(where: \.isEmpty), "empty literal")
        var classOf = [UInt8](repeating: 0, count: 256)
        var classCount = 1
        for lit in literals {
            for c in lit {
                let f = asciiLower(c)
                if classOf[Int(f)] == 0 {
                    precondition(classCount < 256, "too many byte classes")
                    classOf[Int(f)] = UInt8(classCount)
                    classCount += 1
                }
            }
        }
        for u in UInt8(ascii: "A")...UInt8(ascii: "Z") { classOf[Int(u)] = classOf[Int(u | 0x20)] }

        // Trie.
        var children: [[Int32]] = [[Int32](repeating: -1, count: classCount)]
        var own: [[Int32]] = [[]]
        for (id, lit) in literals.enumerated() {
            var s = 0
            for c in lit {
                let k = Int(classOf[Int(asciiLower(c))])
                if children[s][k] < 0 {
                    children[s][k] = Int32(children.count)
                    children.append([Int32](repeating: -1, count: classCount))
                    own.append([])
                }
                s = Int(children[s][k])
            }
            own[s].append(Int32(id))
        }
        // Breadth-first: failure links, dense transitions, merged outputs.
        let n = children.count
        var next = [Int32](repeating: 0, count: n * classCount)
        var fail = [Int32](repeating: 0, count: n)
        var merged = [[Int32]](repeating: [], count: n)
        var queue: [Int] = []
        queue.reserveCapacity(n)
        for k in 0..<classCount {
            let c = children[0][k]
            if c >= 0 {
                next[k] = c
                fail[Int(c)] = 0
                queue.append(Int(c))
            } else {
                next[k] = 0
            }
        }
        merged[0] = own[0]
        var head = 0
        while head < queue.count {
            let s = queue[head]
            head += 1
            merged[s] = own[s] + merged[Int(fail[s])]
            for k in 0..<classCount {
                let c = children[s][k]
                if c >= 0 {
                    fail[Int(c)] = next[Int(fail[s]) * classCount + k]
                    next[s * classCount + k] = c
                    queue.append(Int(c))
                } else {
                    next[s * classCount + k] = next[Int(fail[s]) * classCount + k]
                }
            }
        }
        var outputStart = [Int32](repeating: 0, count: n + 1)
        var outputs: [Int32] = []
        for s in 0..<n {
            outputStart[s] = Int32(outputs.count)
            outputs.append(contentsOf: merged[s])
        }
        outputStart[n] = Int32(outputs.count)

        self.classOf = classOf
        self.classCount = classCount
        self.next = next
        self.outputStart = outputStart
        self.outputs = outputs
        self.literalLengths = literals.map { Int32($0.count) }
    }

    /// Calls `onMatch(literalID, endOffset)` for every occurrence in `text` (end exclusive).
    /// `onMatch` returns false to stop the scan early.
    @inline(__always)
    func scan(_ text: UnsafeRawBufferPointer, _ onMatch: (Int32, Int) -> Bool) {
        guard let base = text.baseAddress else { return }
        classOf.withUnsafeBufferPointer { cls in
            next.withUnsafeBufferPointer { nx in
                outputStart.withUnsafeBufferPointer { os in
                    outputs.withUnsafeBufferPointer { out in
                        let k = classCount
                        var s = 0
                        for i in 0..<text.count {
                            let c = Int(cls[Int(base.load(fromByteOffset: i, as: UInt8.self))])
                            s = Int(nx[s &* k &+ c])
                            let lo = Int(os[s]), hi = Int(os[s &+ 1])
                            if lo != hi {
                                for j in lo..<hi where !onMatch(out[j], i &+ 1) { return }
                            }
                        }
                    }
                }
            }
        }
    }
}
