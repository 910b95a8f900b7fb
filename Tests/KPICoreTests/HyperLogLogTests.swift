import XCTest
@testable import KPICore

/// The HyperLogLog behind `distinct(f)` above `distinct_exact_max`: precision 14, standard error
/// 1.04/√16384 ≈ 0.81%.
final class HyperLogLogTests: XCTestCase {
    private let standardError = 1.04 / Double(HyperLogLog.registerCount).squareRoot()

    /// The hash of the `i`-th distinct value of a run: numbers, hashed as the engine hashes them.
    private func valueHash(_ i: Int, seed: Int) -> UInt64 {
        ValueHash.hash(FieldValue(kind: .number, number: Double(seed) * 1e9 + Double(i)))
    }

    func testEstimatesStayWithinThreeStandardErrorsAcrossSeedsAndSizes() {
        var beyondThree = 0, trials = 0
        var worst = 0.0
        for n in [1_000, 10_000, 100_000, 1_000_000] {
            var sumError = 0.0
            for seed in 1...50 {
                let h = HyperLogLog()
                for i in 0..<n { h.insert(valueHash(i, seed: seed)) }
                // Duplicates change nothing.
                for i in 0..<min(n, 1_000) { h.insert(valueHash(i, seed: seed)) }
                let error = (h.estimate - Double(n)) / Double(n)
                h.release()
                sumError += error
                trials += 1
                worst = max(worst, abs(error) / standardError)
                if abs(error) > 3 * standardError { beyondThree += 1 }
                XCTAssertLessThanOrEqual(abs(error), 4 * standardError, "n=\(n) seed=\(seed): relative error \(error)")
            }
            // No bias: the mean of 50 errors is within 3 standard errors of the mean (σ/√50).
            XCTAssertLessThanOrEqual(abs(sumError / 50), 3 * standardError / 50.0.squareRoot(), "n=\(n): mean error \(sumError / 50)")
        }
        // A normal error lands beyond 3σ in 0.27% of trials: at most 1 of these 200.
        XCTAssertLessThanOrEqual(beyondThree, 1, "\(beyondThree) of \(trials) trials beyond 3σ (worst \(worst)σ)")
    }

    func testEmptyAndTinySetsAreCountedExactlyEnough() {
        let h = HyperLogLog()
        defer { h.release() }
        XCTAssertEqual(h.estimate, 0)
        h.insert(valueHash(1, seed: 0))
        XCTAssertEqual(h.estimate.rounded(), 1)
        for i in 2...100 { h.insert(valueHash(i, seed: 0)) }
        XCTAssertEqual(h.estimate, 100, accuracy: 1)
    }

    func testMergeIsTheSketchOfTheUnion() {
        let a = HyperLogLog(), b = HyperLogLog(), whole = HyperLogLog()
        defer { [a, b, whole].forEach { $0.release() } }
        for i in 0..<60_000 { a.insert(valueHash(i, seed: 3)); whole.insert(valueHash(i, seed: 3)) }
        for i in 40_000..<150_000 { b.insert(valueHash(i, seed: 3)); whole.insert(valueHash(i, seed: 3)) }
        a.merge(b)
        XCTAssertEqual(a.estimate, whole.estimate)
        // The histograms kept up to date match a recount of the registers.
        for h in [a, b, whole] { XCTAssertEqual(h.keptHistogram, h.recountedHistogram) }
        XCTAssertEqual(a.estimate, 150_000, accuracy: 150_000 * 3 * standardError)
    }

    func testRegistersHoldEveryRankUpToFiftyOne() {
        // A hash whose low 50 bits are zero has the largest rank (51); its neighbours must survive.
        let h = HyperLogLog()
        defer { h.release() }
        for r in 0..<HyperLogLog.registerCount {
            h.insert(UInt64(r) << 50) // rank 51 in register r
        }
        // Every register at 51: the estimate is far beyond anything countable, but finite and positive.
        XCTAssertGreaterThan(h.estimate, 1e15)
    }
}
