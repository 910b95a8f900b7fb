import Foundation
import XCTest
@testable import KPICore

/// The DDSketch behind `quantile(f, …)`: every answer within 1% of the exact value at the same
/// rank, checked against a sorted copy of the values.
final class QuantileSketchTests: XCTestCase {
    /// The brute-force reference: the value at rank max(1, ⌈q·n⌉) of the sorted values.
    private func exact(_ sorted: [Double], _ q: Double) -> Double {
        let x = q * Double(sorted.count)
        let rank = max(1, Int((x - x * 1e-12).rounded(.up)))
        return sorted[rank - 1]
    }

    private let qs = [0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1]

    private func uniform(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in Double.random(in: 0.5..<2_000, using: &rng) }
    }

    private func normal(_ rng: inout SeededRandom) -> Double {
        // Box–Muller.
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &rng), u2 = Double.random(in: 0..<1, using: &rng)
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }

    private func lognormal(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in exp(4 + 1.2 * normal(&rng)) }
    }

    /// Two modes two orders of magnitude apart (cache hits and misses), with some exact zeros.
    private func bimodal(_ n: Int, seed: UInt64) -> [Double] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in
            let u = Double.random(in: 0..<1, using: &rng)
            if u < 0.02 { return 0 }
            if u < 0.7 { return max(0.01, 2 + 0.3 * normal(&rng)) }
            return max(0.01, 250 + 40 * normal(&rng))
        }
    }

    private func assertWithinBound(_ values: [Double], _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        let sketch = QuantileSketch()
        defer { sketch.release() }
        for v in values { sketch.insert(v) }
        let sorted = values.sorted()
        XCTAssertEqual(sketch.count, UInt64(values.count))
        for q in qs {
            let want = exact(sorted, q)
            guard let got = sketch.quantile(q) else { return XCTFail("no answer", file: file, line: line) }
            let error = want == 0 ? abs(got) : abs(got - want) / want
            XCTAssertLessThanOrEqual(error, 0.01, "\(name) q=\(q): got \(got), exact \(want)", file: file, line: line)
        }
    }

    func testQuantilesOfUniformValuesAreWithinOnePercent() {
        for seed in 1...5 as ClosedRange<UInt64> { assertWithinBound(uniform(20_000, seed: seed), "uniform seed \(seed)") }
    }

    func testQuantilesOfLognormalLatenciesAreWithinOnePercent() {
        for seed in 1...5 as ClosedRange<UInt64> { assertWithinBound(lognormal(20_000, seed: seed), "lognormal seed \(seed)") }
    }

    func testQuantilesOfABimodalDistributionWithZerosAreWithinOnePercent() {
        for seed in 1...5 as ClosedRange<UInt64> { assertWithinBound(bimodal(20_000, seed: seed), "bimodal seed \(seed)") }
    }

    func testSmallSamplesAndBucketEdgesStayWithinTheBound() {
        // Values exactly on bucket boundaries (powers of γ) and their neighbours.
        var values: [Double] = []
        for k in -50...50 {
            let edge = pow(QuantileSketch.gamma, Double(k))
            values += [edge, edge.nextUp, edge.nextDown]
        }
        assertWithinBound(values, "edges")
        for n in 1...12 { assertWithinBound(uniform(n, seed: UInt64(n)), "n=\(n)") }
    }

    func testEmptySketchHasNoQuantileAndASingleValueIsExact() {
        let s = QuantileSketch()
        defer { s.release() }
        XCTAssertNil(s.quantile(0.5))
        s.insert(123.456)
        XCTAssertEqual(s.quantile(0.5), 123.456) // clamped to the exact min and max
        XCTAssertEqual(s.quantile(1), 123.456)
    }

    func testTheFirstAndLastRanksAreTheExactMinimumAndMaximum() {
        let values = lognormal(5_000, seed: 21)
        let s = QuantileSketch()
        defer { s.release() }
        for v in values { s.insert(v) }
        XCTAssertEqual(s.quantile(1), values.max())
        XCTAssertEqual(s.quantile(0.0001), values.min()) // rank 1
        XCTAssertEqual(s.quantile(0.0002), values.min()) // rank ⌈1.0⌉ = 1
        XCTAssertNotEqual(s.quantile(0.0003), values.min()) // rank 2: from a bucket
    }

    func testMergeAnswersLikeOneSketchOfTheUnion() {
        let a = lognormal(7_000, seed: 11), b = bimodal(5_000, seed: 12), c = uniform(3_000, seed: 13)
        let whole = QuantileSketch(), merged = QuantileSketch(), s1 = QuantileSketch(), s2 = QuantileSketch()
        defer { [whole, merged, s1, s2].forEach { $0.release() } }
        for v in a + b + c { whole.insert(v) }
        for v in a { merged.insert(v) }
        for v in b { s1.insert(v) }
        for v in c { s2.insert(v) }
        merged.merge(s1)
        merged.merge(s2)
        XCTAssertEqual(merged.count, whole.count)
        XCTAssertEqual(merged.min, whole.min)
        XCTAssertEqual(merged.max, whole.max)
        for q in stride(from: 0.005, through: 1, by: 0.005) {
            XCTAssertEqual(merged.quantile(q), whole.quantile(q), "q=\(q)")
        }
        // And the merge left its inputs as they were.
        XCTAssertEqual(s1.count, UInt64(b.count))
    }

    func testAHugeRangeCollapsesTheLowestBucketsAndKeepsTheTopAccurate() {
        let s = QuantileSketch()
        defer { s.release() }
        var values: [Double] = []
        // 1e-30 … 1e30 spans about 7,000 buckets, more than the 2,048 kept.
        var rng = SeededRandom(seed: 7)
        for _ in 0..<50_000 { values.append(pow(10, Double.random(in: -30..<30, using: &rng))) }
        for v in values { s.insert(v) }
        XCTAssertTrue(s.isCollapsed)
        XCTAssertLessThanOrEqual(s.allocatedBuckets, Int(QuantileSketch.maxBuckets))
        let sorted = values.sorted()
        // The kept buckets cover the top γ^2048 ≈ 10^17.5 of the range: 1e13 … 1e30 here.
        for q in [0.9, 0.95, 0.99, 1] {
            let want = exact(sorted, q), got = s.quantile(q)!
            XCTAssertLessThanOrEqual(abs(got - want) / want, 0.01, "q=\(q)")
        }
        XCTAssertEqual(s.count, 50_000)
    }

    func testMergingCollapsedSketchesKeepsTheCountAndTheTopAccurate() {
        var rng = SeededRandom(seed: 8)
        // One side spans 1e-30 … 1e30 (collapsed), the other 1e-3 … 1e3 (not).
        let wide = (0..<20_000).map { _ in pow(10, Double.random(in: -30..<30, using: &rng)) }
        let narrow = (0..<20_000).map { _ in pow(10, Double.random(in: -3..<3, using: &rng)) }
        for (a, b) in [(wide, narrow), (narrow, wide)] {
            let x = QuantileSketch(), y = QuantileSketch()
            defer { x.release(); y.release() }
            for v in a { x.insert(v) }
            for v in b { y.insert(v) }
            x.merge(y)
            XCTAssertEqual(x.count, 40_000)
            XCTAssertTrue(x.isCollapsed)
            XCTAssertLessThanOrEqual(x.allocatedBuckets, Int(QuantileSketch.maxBuckets))
            let sorted = (a + b).sorted()
            // The kept buckets cover the top γ^2048 ≈ 10^17.6 below the maximum (≈ 1e30): ranks
            // from q = 0.9 (≈ 1e18) up; q = 0.8 (≈ 1e6) is below the floor and loses its bound.
            for q in [0.9, 0.95, 0.99, 1] {
                let want = exact(sorted, q), got = x.quantile(q)!
                XCTAssertLessThanOrEqual(abs(got - want) / want, 0.01, "q=\(q)")
            }
            XCTAssertEqual(x.quantile(0.00002), sorted[0]) // rank 1: the exact minimum, even below the floor
        }
    }

    func testRankRoundsProductsThatAreIntegersInDecimal() {
        XCTAssertEqual(QuantileSketch.rank(0.07, of: 100), 7)   // 0.07 × 100 = 7.000000000000001 in double
        XCTAssertEqual(QuantileSketch.rank(0.57, of: 100), 57)  // 56.99999999999999
        XCTAssertEqual(QuantileSketch.rank(0.95, of: 101), 96)
        XCTAssertEqual(QuantileSketch.rank(0.001, of: 10), 1)
    }
}
