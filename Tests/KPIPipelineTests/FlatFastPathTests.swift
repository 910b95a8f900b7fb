import KPICore
import XCTest

@testable import KPIPipeline

/// The decoder's flat-line fast path (CKPIJSON/flat_line.h) against simdjson: for every line it
/// must give exactly what simdjson gives (same outcome, same kinds, bit-identical numbers, same
/// string bytes), and it must actually take the plain lines and leave the unusual ones.
final class FlatFastPathTests: XCTestCase {
    /// An outcome with numbers as bit patterns, so that -0 and 0 (or two nearby doubles) differ.
    private enum Exact: Equatable {
        case event([String])
        case error(DecodeError, offset: Int, length: Int)
    }

    private func exact(_ decoder: EventDecoder, _ payload: [UInt8], borrowing: Bool = false) -> [Exact] {
        if borrowing {
            // An exact-size copy that stays alive while the decoder reads it in place.
            let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: payload.count, alignment: 1)
            defer { bytes.deallocate() }
            bytes.copyBytes(from: payload)
            decoder.load(borrowing: UnsafeRawBufferPointer(bytes))
            return drain(decoder)
        }
        payload.withUnsafeBytes { decoder.load($0) }
        return drain(decoder)
    }

    private func drain(_ decoder: EventDecoder) -> [Exact] {
        var out: [Exact] = []
        while true {
            switch decoder.next() {
            case .end:
                return out
            case .error(let e):
                out.append(.error(e, offset: decoder.currentOffset, length: decoder.currentLine.count))
                out.append(.event(["line " + String(decoding: decoder.currentLine, as: UTF8.self)]))
            case .event:
                out.append(.event(decoder.slots.map { f in
                    switch f.kind {
                    case .absent: return "absent"
                    case .null: return "null"
                    case .bool: return "bool \(f.number.bitPattern)"
                    case .number: return "number \(String(f.number.bitPattern, radix: 16))"
                    case .string: return "string \(Array(f.string))"
                    }
                }))
            }
        }
    }

    private let fields = ["type", "ts", "a", "b", "status", "x", "a"]

    /// Decodes `payload` both ways; returns the outcomes and how many lines the fast path took.
    private func both(_ payload: [UInt8], file: StaticString = #filePath, line: UInt = #line) -> (outcomes: [Exact], flat: Int) {
        let fast = EventDecoder(fields: fields, flatFastPath: true)
        let slow = EventDecoder(fields: fields, flatFastPath: false)
        let a = exact(fast, payload)
        let b = exact(slow, payload)
        XCTAssertEqual(a, b, String(decoding: payload, as: UTF8.self), file: file, line: line)
        XCTAssertEqual(slow.flatLineCount, 0, file: file, line: line)
        return (a, fast.flatLineCount)
    }

    func testTheCDecoderWritesFieldValuesInPlaceOnThisPlatform() {
        // Not a correctness requirement (a conversion takes over otherwise), but the hot path
        // counts on it: a failure here means a silent slowdown.
        XCTAssertTrue(EventDecoder.slotsShareLayout)
        let fast = EventDecoder(fields: ["a", "b", "c"], flatFastPath: true)
        XCTAssertEqual(exact(fast, Array(#"{"a":"xyz","b":-0}"#.utf8)), [.event(["string [120, 121, 122]", "number 8000000000000000", "absent"])])
        XCTAssertEqual(exact(fast, Array(#"{"a":[1]}"#.utf8)), [.error(.nestedValue, offset: 0, length: 9), .event([#"line {"a":[1]}"#])])
        XCTAssertEqual(fast.slots.map(\.kind), [.absent, .absent, .absent])
    }

    func testPlainFlatLinesTakeTheFastPath() {
        let lines = [
            #"{"type":"click","ts":1763856000000,"a":"pcandparts","b":"v123","status":200}"#,
            #"{ "type" : "http.request" , "ts" : 1763856000000.5 , "status" : 503 }"#,
            "{\t\"a\":true,\r\"b\":false,\"x\":null}",
            #"{"skipped":"with \"escapes\" and \\ and \u0041","a":-0}"#,
            #"{"a":0.1,"b":1e22,"status":-12.25E-2,"x":9007199254740992}"#,
            #"{"a":"","":1,"b":"/p?q=1&r=2"}"#,
            "{}",
            #"{"y":1,"y":2,"a":3}"#, // a repeated skipped key is fine
        ]
        for l in lines {
            let r = both(Array(l.utf8))
            XCTAssertEqual(r.flat, 1, l)
            guard case .event? = r.outcomes.first else { return XCTFail("\(l): \(r.outcomes)") }
        }
    }

    func testUnusualLinesAreLeftToSimdjsonWithTheSameResults() {
        let lines: [[UInt8]] = [
            Array(#"{"a":"caf\u00e9"}"#.utf8),                 // escape in an extracted string
            Array(#"{"\u0061":1}"#.utf8),                       // escape in a key
            Array(#"{"a":"Zürich"}"#.utf8),                     // not ASCII
            Array(#"{"a":123456789012345678901}"#.utf8),        // more than 19 digits
            Array(#"{"a":9007199254740993}"#.utf8),             // above 2^53
            Array(#"{"a":1e23}"#.utf8),                         // exponent beyond 22
            Array(#"{"a":1e400}"#.utf8),                        // bad number
            Array(#"{"a":[1]}"#.utf8),                          // nested
            Array(#"{"a":1,"a":2}"#.utf8),                      // duplicate extracted key
            Array(#"{"a":1} x"#.utf8),                          // trailing content
            Array(#"{"a":01}"#.utf8), Array(#"{"a":1.}"#.utf8), Array(#"{"a":tru}"#.utf8),
            Array("{\"a\":\"tab\there\"}".utf8),                // raw control character
            Array(#"{"a":"\ud800"}"#.utf8),                     // unpaired surrogate
            Array(#"{"a":"x"#.utf8) + [0xFF] + Array(#""}"#.utf8),
            Array("[1,2]".utf8), Array(#""str""#.utf8),
        ]
        for l in lines {
            XCTAssertEqual(both(l).flat, 0, String(decoding: l, as: UTF8.self))
        }
    }

    func testLimitsBiteTheSameOnBothPaths() {
        // The fast path declines what a limit refuses, so simdjson reports the limit as the error;
        // within the limits it still takes the line.
        let limits = EventDecoder.Limits(maxFields: 3, maxFieldBytes: 4)
        let fast = EventDecoder(fields: fields, limits: limits, flatFastPath: true)
        let slow = EventDecoder(fields: fields, limits: limits, flatFastPath: false)
        let cases: [(String, DecodeError?)] = [
            (#"{"a":"abcd","b":1,"x":2}"#, nil),                  // at both limits
            (#"{"a":"abcde"}"#, .fieldTooLong),                   // extracted string one byte over
            (#"{"skip":"a long skipped value"}"#, nil),           // unextracted strings are not measured
            (#"{"a":1,"b":2,"x":3,"y":4}"#, .tooManyFields),      // one field over
        ]
        for (line, error) in cases {
            let payload = Array(line.utf8)
            let a = exact(fast, payload)
            XCTAssertEqual(a, exact(slow, payload), line)
            if let error {
                guard case .error(let e, _, _)? = a.first else { XCTFail("\(line): \(a)"); continue }
                XCTAssertEqual(e, error, line)
            } else {
                guard case .event? = a.first else { XCTFail("\(line): \(a)"); continue }
            }
        }
        XCTAssertEqual(fast.flatLineCount, 2, "the two lines within the limits take the fast path")
    }

    func testNumbersAreBitIdenticalToSimdjson() {
        var rng = SplitMix64(seed: 7)
        var payload = ""
        for _ in 0..<20_000 {
            var n = rng.next() % 2 == 0 ? "-" : ""
            let intDigits = Int(rng.next() % 17)
            n += intDigits == 0 ? "0" : String(1 + rng.next() % 9) + (0..<(intDigits - 1)).map { _ in String(rng.next() % 10) }.joined()
            if rng.next() % 2 == 0 {
                n += "." + (0..<(1 + Int(rng.next() % 12))).map { _ in String(rng.next() % 10) }.joined()
            }
            if rng.next() % 3 == 0 {
                n += (rng.next() % 2 == 0 ? "e" : "E") + ["", "+", "-"][Int(rng.next() % 3)] + String(rng.next() % 30)
            }
            payload += #"{"a":\#(n),"status":\#(n)}"# + "\n"
        }
        let r = both(Array(payload.utf8))
        XCTAssertEqual(r.outcomes.count, 20_000)
        XCTAssertGreaterThan(r.flat, 10_000, "most of these numbers are in the exact subset")
    }

    func testBorrowedPayloadsDecodeInPlaceWithTheSameResultsAsCopiedOnes() {
        var rng = SplitMix64(seed: 9)
        let lines = [
            #"{"type":"click","ts":1763856000000,"a":"pcandparts","b":"v123","status":200}"#,
            #"{"a":"caf\u00e9","status":1}"#, #"{"a":[1]}"#, #"{"a":1"#, "", "  ",
            #"{"type":"http.request","ts":1763856000001,"x":"/api/search","status":503}"#,
        ]
        var inPlace = 0
        for n in [1, 2, 3, 10, 100] {
            for _ in 0..<50 {
                let payload = Array((0..<n).map { _ in lines[Int(rng.next() % UInt64(lines.count))] }
                    .joined(separator: rng.next() % 4 == 0 ? "\r\n" : "\n").utf8)
                let copied = EventDecoder(fields: fields, flatFastPath: true)
                let borrowed = EventDecoder(fields: fields, flatFastPath: true)
                XCTAssertEqual(exact(borrowed, payload, borrowing: true), exact(copied, payload))
                inPlace += borrowed.flatLineCount
            }
        }
        XCTAssertGreaterThan(inPlace, 1_000)
    }

    func testGeneratedAndMutatedPayloadsDecodeTheSameBothWays() {
        var rng = SplitMix64(seed: 42)
        let keys = ["type", "ts", "a", "b", "status", "x", "y", #"\u0061"#, "typ", "", "A"]
        let values = [
            "1", "-0", "0", "0.5", "1e5", "1E+2", "-1.5e-3", "123456789012345678", "9007199254740993", "1e22",
            "1e23", "0.1", "1763856000000", #""s""#, #""""#, #""a\"b""#, #""\u0041""#, #""\ud800""#, #""\x""#,
            "true", "false", "null", "tru", "nul", "01", "1.", "-", "[1]", "{}", "\"caf\u{E9}\"", "1e400",
            "2.5E-10", "0.000001", #""/p?q=1&r=2""#, "12345678901234567890", "4.9e-324",
        ]
        let noise: [UInt8] = Array("{}[],:\"\\ \t0123456789eE.-+tfnx".utf8) + [0x01, 0x0D, 0x80, 0xC3]
        var flat = 0
        for _ in 0..<4_000 {
            var lines: [[UInt8]] = []
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                var l = "{"
                for i in 0..<Int(rng.next() % 7) {
                    if i > 0 { l += rng.next() % 10 == 0 ? " , " : "," }
                    l += "\"\(keys[Int(rng.next() % UInt64(keys.count))])\"" + (rng.next() % 10 == 0 ? " : " : ":")
                    l += values[Int(rng.next() % UInt64(values.count))]
                }
                var bytes = Array((l + "}").utf8)
                for _ in 0..<Int(rng.next() % 4) where !bytes.isEmpty {
                    let pos = Int(rng.next() % UInt64(bytes.count))
                    let c = noise[Int(rng.next() % UInt64(noise.count))]
                    switch rng.next() % 4 {
                    case 0: bytes.remove(at: pos)
                    case 1: bytes.insert(c, at: pos)
                    case 2: bytes[pos] = c
                    default: bytes.removeSubrange(pos...)
                    }
                }
                lines.append(bytes)
            }
            let payload = Array(lines.joined(separator: rng.next() % 5 == 0 ? [13, 10] : [10]))
            let r = both(payload)
            flat += r.flat
            XCTAssertEqual(exact(EventDecoder(fields: fields, flatFastPath: true), payload, borrowing: true), r.outcomes)
        }
        XCTAssertGreaterThan(flat, 500, "the generator must exercise the fast path")
    }
}
