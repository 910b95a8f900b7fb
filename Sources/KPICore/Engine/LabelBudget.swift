/// The label sets one metric has admitted, and its cap (`max_label_sets`): the guard against a
/// flood of junk label values.
///
/// Label sets are the dense group numbers of the metric's ``GroupTable`` (which metrics with the
/// same `group_by` share); the budget keeps one bit per group number, so the hot path's check
/// for a known label set is one load and one bit test. Once `cap` label sets are admitted, the
/// metric's events of any other label set go to the table's overflow group instead. Label sets
/// are never forgotten: the cap counts the label sets seen since the engine started.
///
/// Memory: one bit per group number of the shared table. Allocates only when a group number
/// beyond the current words is admitted (doubling). Single-threaded, owned by the engine's
/// ``CompiledMetric``; the hot path reaches it through an unmanaged reference.
final class LabelBudget {
    /// Most label sets admitted.
    let cap: Int
    /// Label sets admitted so far (at most ``cap``).
    private(set) var count = 0
    private var words: UnsafeMutablePointer<UInt64>
    private var wordCount: Int

    init(cap: Int) {
        self.cap = cap
        wordCount = 4
        words = .allocate(capacity: wordCount)
        words.initialize(repeating: 0, count: wordCount)
    }

    deinit { words.deallocate() }

    /// Whether group `g` (≥ 0) was admitted.
    @inline(__always)
    func contains(_ g: Int32) -> Bool {
        let w = Int(g) >> 6
        return w < wordCount && words[w] & (1 << UInt64(Int(g) & 63)) != 0
    }

    /// Whether the cap is reached: no further label set can be admitted.
    var isFull: Bool { count >= cap }

    /// Admits group `g` (≥ 0, not yet admitted); false when the cap is reached.
    func admit(_ g: Int32) -> Bool {
        if count >= cap { return false }
        let w = Int(g) >> 6
        if w >= wordCount {
            var n = wordCount * 2
            while n <= w { n *= 2 }
            let grown = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
            grown.initialize(repeating: 0, count: n)
            grown.update(from: words, count: wordCount)
            words.deallocate()
            words = grown
            wordCount = n
        }
        words[w] |= 1 << UInt64(Int(g) & 63)
        count += 1
        return true
    }
}
