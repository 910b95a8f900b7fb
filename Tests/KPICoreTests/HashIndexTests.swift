import XCTest
@testable import KPICore

/// The engine's open-addressing index: verified lookups, collisions, growth and removal.
final class HashIndexTests: XCTestCase {
    /// Keys 0..<n stored as entries; `hashOf` decides how badly they collide.
    private func check(_ index: HashIndex, _ expected: [Int32: UInt64], universe: Range<Int32>,
                       hashOf: (Int32) -> UInt64, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(index.count, expected.count, file: file, line: line)
        for key in universe {
            let found = index.find(hashOf(key)) { $0 == key }
            XCTAssertEqual(found, expected[key] == nil ? -1 : key, "key \(key)", file: file, line: line)
        }
    }

    func testEntriesWithTheSameHashAreToldApartByTheVerification() {
        let index = HashIndex()
        for e in Int32(0)..<40 { index.insert(42, e) } // one long run, growing the table twice
        for e in Int32(0)..<40 { XCTAssertEqual(index.find(42) { $0 == e }, e) }
        XCTAssertEqual(index.find(42) { $0 == 99 }, -1)
        XCTAssertEqual(index.find(43) { _ in true }, -1)
    }

    func testRandomInsertsAndRemovesAgreeWithADictionaryUnderHeavyCollisions() {
        var rng = SystemRandomNumberGenerator()
        // Few distinct hashes and a small table: long, wrapping runs, so removal must shift
        // entries back across the end of the table.
        for buckets in [UInt64(3), 17, 1 << 40] {
            let hashOf: (Int32) -> UInt64 = { UInt64($0) % buckets &* 0x9E37_79B9_7F4A_7C15 &+ 15 }
            let index = HashIndex(capacity: 16)
            var expected: [Int32: UInt64] = [:]
            for _ in 0..<3_000 {
                let key = Int32.random(in: 0..<200, using: &rng)
                if expected[key] != nil {
                    index.remove(hashOf(key), key)
                    expected[key] = nil
                } else {
                    index.insert(hashOf(key), key)
                    expected[key] = hashOf(key)
                }
            }
            check(index, expected, universe: 0..<200, hashOf: hashOf)
            for key in Array(expected.keys) {
                index.remove(hashOf(key), key)
                expected[key] = nil
            }
            check(index, expected, universe: 0..<200, hashOf: hashOf)
        }
    }

    func testRemovingAMissingEntryChangesNothing() {
        let index = HashIndex()
        index.insert(7, 1)
        index.remove(7, 2)
        index.remove(8, 1)
        XCTAssertEqual(index.count, 1)
        XCTAssertEqual(index.find(7) { $0 == 1 }, 1)
    }

    func testRemoveAllEmptiesTheIndexAndItStaysUsable() {
        let index = HashIndex()
        for e in Int32(0)..<1_000 { index.insert(UInt64(e) &* 0xff51_afd7_ed55_8ccd, e) }
        index.removeAll()
        XCTAssertEqual(index.count, 0)
        XCTAssertEqual(index.find(0) { _ in true }, -1)
        index.insert(5, 5)
        XCTAssertEqual(index.find(5) { $0 == 5 }, 5)
    }
}

/// Exact distinct sets over 64-bit hashes.
final class DistinctSetTests: XCTestCase {
    func testCountsEqualASetOfTheSameHashesIncludingZeroAndSharedLowBits() {
        var rng = SystemRandomNumberGenerator()
        var set = DistinctSet()
        defer { set.release() }
        var reference = Set<UInt64>()
        for i in 0..<20_000 {
            // Values that agree in their low bits land in the same slot and must probe on.
            let h: UInt64 = i % 3 == 0 ? UInt64.random(in: 0..<64, using: &rng) << 40 : UInt64.random(in: 0..<5_000, using: &rng)
            XCTAssertEqual(set.insert(h), reference.insert(h).inserted)
        }
        XCTAssertTrue(reference.contains(0))
        XCTAssertEqual(set.count, reference.count)
        for h in reference { XCTAssertTrue(set.contains(h)) }
        XCTAssertFalse(set.contains(UInt64.max))
    }
}
