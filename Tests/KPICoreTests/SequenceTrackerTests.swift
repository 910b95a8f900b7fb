import XCTest
@testable import KPICore

final class SequenceTrackerTests: XCTestCase {
    private func record(_ t: inout SequenceTracker, _ src: String, _ seqs: [Double]) {
        var bytes = Array(src.utf8)
        bytes.withUnsafeMutableBytes { raw in
            let s = FieldValue(kind: .string, string: UnsafeRawBufferPointer(raw))
            for n in seqs { t.record(src: s, seq: FieldValue(kind: .number, number: n)) }
        }
    }

    private func counts(_ t: SequenceTracker, _ src: String) -> (Int64, Int64, Int64, Int64)? {
        t.sources.first { $0.name == src }.map { ($0.events, $0.gaps, $0.duplicates, $0.resets) }
    }

    func testInOrderNumbersCountNothing() {
        var t = SequenceTracker()
        record(&t, "web-1", (1...100).map(Double.init))
        XCTAssertTrue(counts(t, "web-1")! == (100, 0, 0, 0))
        XCTAssertEqual(t.deltas(), [])
    }

    func testAGapCountsTheMissingNumbers() {
        var t = SequenceTracker()
        record(&t, "web-1", [1, 2, 3, 7, 8, 20])
        XCTAssertTrue(counts(t, "web-1")! == (6, 3 + 11, 0, 0))
    }

    func testRepeatedOrOlderNumbersAreDuplicates() {
        var t = SequenceTracker()
        record(&t, "s", [5, 6, 6, 4, 7])
        XCTAssertTrue(counts(t, "s")! == (5, 0, 2, 0))
    }

    func testRestartingFromZeroOrOneIsAReset() {
        var t = SequenceTracker()
        record(&t, "s", [10, 11, 1, 2, 3, 0, 1])
        XCTAssertTrue(counts(t, "s")! == (7, 0, 0, 2))
    }

    func testSourcesAreIndependent() {
        var t = SequenceTracker()
        record(&t, "a", [1, 3])
        record(&t, "b", [1, 2])
        record(&t, "a", [4])
        XCTAssertTrue(counts(t, "a")! == (3, 1, 0, 0))
        XCTAssertTrue(counts(t, "b")! == (2, 0, 0, 0))
    }

    func testUnusableValuesAreCountedAsInvalidAndAbsentOnesIgnored() {
        var t = SequenceTracker()
        record(&t, "s", [1.5, -1, 9_007_199_254_740_992])
        t.record(src: FieldValue(kind: .number, number: 3), seq: FieldValue(kind: .number, number: 1))
        t.record(src: .absent, seq: .absent)
        XCTAssertEqual(t.invalid, 4)
        XCTAssertTrue(t.sources.isEmpty)
    }

    func testSourcesBeyondTheCapAreUntracked() {
        var t = SequenceTracker(maxSources: 2)
        record(&t, "a", [1])
        record(&t, "b", [1])
        record(&t, "c", [1, 2])
        XCTAssertEqual(t.sources.map(\.name), ["a", "b"])
        XCTAssertEqual(t.untracked, 2)
    }

    func testDeltasReportOnlyWhatChangedSinceTheLastCall() {
        var t = SequenceTracker()
        record(&t, "a", [1, 3, 3])
        XCTAssertEqual(Set(t.deltas()), [
            CounterDelta(name: "seq_gaps", labels: #"{"src":"a"}"#, delta: 1),
            CounterDelta(name: "seq_duplicates", labels: #"{"src":"a"}"#, delta: 1),
        ])
        record(&t, "a", [6])
        XCTAssertEqual(t.deltas(), [CounterDelta(name: "seq_gaps", labels: #"{"src":"a"}"#, delta: 2)])
        XCTAssertEqual(t.deltas(), [])
    }

    func testARestoredPublisherIsJudgedAgainstItsCheckpointedNumber() {
        var t = SequenceTracker()
        record(&t, "web-1", [1, 2, 3])
        record(&t, "api", [10])
        XCTAssertEqual(t.checkpointChanges().map(\.last), [3, 10])
        XCTAssertTrue(t.checkpointChanges().isEmpty, "nothing changed since")
        var restored = SequenceTracker()
        restored.restore(src: "web-1", last: 3)
        restored.restore(src: "api", last: 10)
        restored.restore(src: "web-1", last: 99) // known: left alone
        record(&restored, "web-1", [4, 5, 9])
        record(&restored, "api", [10])
        XCTAssertTrue(counts(restored, "web-1")! == (3, 3, 0, 0), "no gap at 4, three missing before 9")
        XCTAssertTrue(counts(restored, "api")! == (1, 0, 1, 0), "10 again is a duplicate")
        XCTAssertEqual(restored.checkpointChanges().map(\.src), ["web-1"])
    }
}
