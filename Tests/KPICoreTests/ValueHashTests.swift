import XCTest
@testable import KPICore

/// The 64-bit value hash behind distinct counts and label-set lookup.
final class ValueHashTests: XCTestCase {
    private func hash(_ bytes: [UInt8]) -> UInt64 {
        // A fresh allocation each time, so equal hashes never come from equal addresses.
        let p = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count + 3, alignment: 8)
        defer { p.deallocate() }
        // Start at an odd offset to exercise unaligned loads.
        let view = UnsafeMutableRawBufferPointer(rebasing: p[3..<(3 + bytes.count)])
        view.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: bytes.count))
        return ValueHash.hash(FieldValue(kind: .string, string: UnsafeRawBufferPointer(view)))
    }

    private func hash(_ s: String) -> UInt64 { hash(Array(s.utf8)) }

    func testEqualStringsHashEqualWhateverTheirAddress() {
        for n in 0...17 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: 0x41 + $0 * 7) }
            let h1 = hash(bytes)
            let h2 = Array(bytes).withUnsafeBytes { ValueHash.hash(FieldValue(kind: .string, string: $0)) }
            XCTAssertEqual(h1, h2, "length \(n)")
        }
    }

    func testEmptyStringHashesTheSameWithOrWithoutStorage() {
        let withoutStorage = ValueHash.hash(FieldValue(kind: .string, string: UnsafeRawBufferPointer(start: nil, count: 0)))
        XCTAssertEqual(hash(""), withoutStorage)
        let rawWithout = ValueHash.hash(bytes: UnsafeRawBufferPointer(start: nil, count: 0))
        let rawWith = [UInt8](repeating: 0, count: 4).withUnsafeBytes { ValueHash.hash(bytes: UnsafeRawBufferPointer(rebasing: $0[0..<0])) }
        XCTAssertEqual(rawWith, rawWithout)
    }

    func testStringsOfZeroBytesOfEveryLengthHashApart() {
        // Zero bytes add nothing to a word or the tail: only the length tells them apart.
        let hashes = (0...17).map { hash([UInt8](repeating: 0, count: $0)) }
        XCTAssertEqual(Set(hashes).count, hashes.count)
    }

    func testEveryByteOfStringsUpTo17BytesChangesTheHash() {
        for n in 1...17 {
            let base = (0..<n).map { UInt8(0x61 + $0) }
            let h = hash(base)
            var seen: Set<UInt64> = [h]
            for i in 0..<n {
                var changed = base
                changed[i] ^= 0x01
                let hc = hash(changed)
                XCTAssertNotEqual(hc, h, "length \(n), byte \(i)")
                seen.insert(hc)
            }
            XCTAssertEqual(seen.count, n + 1, "length \(n)")
        }
    }

    func testManyShortStringsHaveNoCollisions() {
        var seen = Set<UInt64>()
        for i in 0..<20_000 { seen.insert(hash("user-\(i)")) }
        XCTAssertEqual(seen.count, 20_000)
    }

    func testKindsHashApart() {
        let values: [(String, UInt64)] = [
            ("string 1", hash("1")),
            ("number 1", ValueHash.hash(FieldValue(kind: .number, number: 1))),
            ("true", ValueHash.hash(FieldValue(kind: .bool, number: 1))),
            ("string empty", hash("")),
            ("number 0", ValueHash.hash(FieldValue(kind: .number, number: 0))),
            ("false", ValueHash.hash(FieldValue(kind: .bool, number: 0))),
            ("null", ValueHash.hash(FieldValue(kind: .null))),
            ("absent", ValueHash.hash(.absent)),
            ("string true", hash("true")),
            ("string null", hash("null")),
        ]
        for i in values.indices {
            for j in values.indices where j > i {
                XCTAssertNotEqual(values[i].1, values[j].1, "\(values[i].0) vs \(values[j].0)")
            }
        }
    }

    func testEqualNumbersHashEqualAndNegativeZeroIsZero() {
        let n = { (d: Double) in ValueHash.hash(FieldValue(kind: .number, number: d)) }
        XCTAssertEqual(n(-0.0), n(0))
        XCTAssertEqual(n(1e3), n(1000))
        XCTAssertNotEqual(n(1), n(2))
        XCTAssertNotEqual(n(1), n(-1))
        XCTAssertNotEqual(n(0.1 + 0.2), n(0.3))
    }

    func testHashIsTheSameAcrossCalls() {
        // Not seeded per process: a fixed input hashes the same every time.
        let a = hash("reproducible")
        for _ in 0..<3 { XCTAssertEqual(hash("reproducible"), a) }
    }

    func testSeedChangesTheHashOfRawBytes() {
        let bytes = Array("abc".utf8)
        let a = bytes.withUnsafeBytes { ValueHash.hash(bytes: $0, seed: 1) }
        let b = bytes.withUnsafeBytes { ValueHash.hash(bytes: $0, seed: 2) }
        let c = bytes.withUnsafeBytes { ValueHash.hash(bytes: $0, seed: 1) }
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(a, c)
    }
}
