import XCTest
@testable import KPICore

/// The exact distinct set, its growth policy and the switch to an estimate above the limit.
final class DistinctCountTests: XCTestCase {
    func testMatchesASetOfHashesThroughManyGrowths() {
        var rng = SeededRandom(seed: 42)
        var set = DistinctSet()
        defer { set.release() }
        var reference = Set<UInt64>()
        for _ in 0..<200_000 {
            // Up to 150,000 distinct hashes, each seen about 1.3 times; 0 included.
            let h = rng.next() % 150_000 &* 0x9E37_79B9_7F4A_7C15
            XCTAssertEqual(set.insert(h), reference.insert(h).inserted)
        }
        XCTAssertEqual(set.count, reference.count)
        for h in reference.prefix(1_000) { XCTAssertTrue(set.contains(h)) }
        XCTAssertFalse(set.contains(0x1234_5678))
        // Between 8/15 and 4/5 full: 10 to 15 bytes per element.
        let perElement = Double(set.tableBytes) / Double(set.count)
        XCTAssertGreaterThanOrEqual(perElement, 10)
        XCTAssertLessThanOrEqual(perElement, 15.01)
    }

    func testUnionIsTheUnionOfTheHashes() {
        var a = DistinctSet(), b = DistinctSet()
        defer { a.release(); b.release() }
        for h in 0..<5_000 as Range<UInt64> { a.insert(h &* 0x9E37_79B9_7F4A_7C15) }
        for h in 3_000..<9_000 as Range<UInt64> { b.insert(h &* 0x9E37_79B9_7F4A_7C15) }
        a.formUnion(b)
        XCTAssertEqual(a.count, 9_000)
        XCTAssertEqual(b.count, 6_000)
    }

    private func hash(_ i: Int) -> UInt64 { ValueHash.hash(FieldValue(kind: .number, number: Double(i))) }

    func testTheCountIsExactAtTheLimitAndEstimatedAboveIt() {
        let limit = 1_000
        var cell = AggregateCell(distinct: true, distinctExactMax: limit, quantile: false)
        defer { cell.release() }
        for i in 0..<limit { cell.insertDistinct(hash(i)) }
        // Values already counted do not push it over.
        for i in 0..<limit { cell.insertDistinct(hash(i)) }
        XCTAssertFalse(cell.isEstimated)
        XCTAssertEqual(cell.distinctCount, Double(limit))
        cell.insertDistinct(hash(limit))
        XCTAssertTrue(cell.isEstimated)
        XCTAssertNil(cell.distinct)
        XCTAssertEqual(cell.distinctCount, Double(limit + 1), accuracy: Double(limit) * 0.025)
        // Values seen before the switch were folded in: adding them again changes nothing.
        let before = cell.distinctCount
        for i in 0...limit { cell.insertDistinct(hash(i)) }
        XCTAssertEqual(cell.distinctCount, before)
    }

    func testMergingExactSetsStaysExactWithinTheLimitAndEstimatesAbove() {
        func cell(_ r: Range<Int>, limit: Int) -> AggregateCell {
            var c = AggregateCell(distinct: true, distinctExactMax: limit, quantile: false)
            for i in r { c.insertDistinct(hash(i)) }
            return c
        }
        var a = cell(0..<600, limit: 1_000)
        let b = cell(400..<1_000, limit: 1_000)
        a.merge(b)
        XCTAssertFalse(a.isEstimated)
        XCTAssertEqual(a.distinctCount, 1_000)
        let c = cell(1_000..<1_500, limit: 1_000)
        a.merge(c)
        XCTAssertTrue(a.isEstimated)
        XCTAssertEqual(a.distinctCount, 1_500, accuracy: 1_500 * 0.025)
        // Estimate ∪ exact and exact ∪ estimate.
        var d = cell(1_400..<2_000, limit: 1_000)
        d.merge(a)
        XCTAssertTrue(d.isEstimated)
        XCTAssertEqual(d.distinctCount, 2_000, accuracy: 2_000 * 0.025)
        a.merge(d)
        XCTAssertEqual(a.distinctCount, d.distinctCount)
        for x in [a, b, c, d] { x.release() }
    }

    func testMergingCellsAddsCountsSumsExtremesAndSketches() {
        var a = AggregateCell(distinct: false, distinctExactMax: 10, quantile: true)
        var b = AggregateCell(distinct: false, distinctExactMax: 10, quantile: true)
        for x in [1.0, 2, 3] { a.add(quantileValue: x) }
        for x in [10.0, 20] { b.add(quantileValue: x) }
        a.merge(b)
        XCTAssertEqual(a.samples, 5)
        XCTAssertEqual(a.sum, 36)
        XCTAssertEqual(a.min, 1)
        XCTAssertEqual(a.max, 20)
        XCTAssertEqual(a.quantile(1), 20)
        XCTAssertEqual(a.quantile(0.6)!, 3, accuracy: 0.03)
        a.release()
        b.release()
    }
}
