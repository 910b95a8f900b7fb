/// Lists packed into one array, for hot paths that must not touch an array per list (no
/// reference counting, one bounds check): list `i` is `elements[starts[i] ..< starts[i + 1]]`.
struct PackedLists<Element> {
    let elements: ContiguousArray<Element>
    let starts: ContiguousArray<Int>

    init(_ lists: [[Element]]) {
        var elements = ContiguousArray<Element>()
        var starts = ContiguousArray<Int>([0])
        for list in lists {
            elements.append(contentsOf: list)
            starts.append(elements.count)
        }
        self.elements = elements
        self.starts = starts
    }

    /// Number of lists.
    var count: Int { starts.count - 1 }

    /// Where list `i` lies in ``elements``.
    @inline(__always)
    func range(_ i: Int) -> Range<Int> { starts[i]..<starts[i + 1] }
}

/// The event type names an engine knows, packed for the hot path's type lookup: a handful of
/// names, so a linear scan comparing lengths and bytes beats hashing.
struct TypeNames {
    private let names: PackedLists<UInt8>

    init(_ names: [[UInt8]]) { self.names = PackedLists(names) }

    /// The index of the name equal to `name`, or nil.
    @inline(__always)
    func index(of name: UnsafeRawBufferPointer) -> Int? {
        names.elements.withUnsafeBytes { all in
            for i in 0..<names.count {
                let r = names.range(i)
                if r.count == name.count && (name.count == 0 || bytesEqual(all.baseAddress! + r.lowerBound, name.baseAddress!, name.count)) {
                    return i
                }
            }
            return nil
        }
    }
}
