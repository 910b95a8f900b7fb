import KPICore
import XCTest

@testable import KPIPipeline

/// A copied-out field value, so tests can compare events after the decoder moved on.
enum Val: Equatable, CustomStringConvertible {
    case absent, null, bool(Bool), number(Double), string(String)

    init(_ f: FieldValue) {
        switch f.kind {
        case .absent: self = .absent
        case .null: self = .null
        case .bool: self = .bool(f.number != 0)
        case .number: self = .number(f.number)
        case .string: self = .string(f.stringValue!)
        }
    }

    var description: String {
        switch self {
        case .absent: return "absent"
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let d): return "\(d)"
        case .string(let s): return "\"\(s)\""
        }
    }
}

enum Outcome: Equatable {
    case event([Val])
    case error(DecodeError, line: String)
}

/// Loads `payload` and drains the decoder.
func decodeAll(_ decoder: EventDecoder, _ payload: [UInt8]) -> [Outcome] {
    payload.withUnsafeBytes { decoder.load($0) }
    var out: [Outcome] = []
    loop: while true {
        switch decoder.next() {
        case .event:
            out.append(.event(decoder.slots.map(Val.init)))
        case .error(let e):
            out.append(.error(e, line: String(decoding: decoder.currentLine, as: UTF8.self)))
        case .end:
            break loop
        }
    }
    return out
}

func decodeAll(_ decoder: EventDecoder, _ payload: String) -> [Outcome] {
    decodeAll(decoder, Array(payload.utf8))
}

func decodeAll(fields: [String], _ payload: String) -> [Outcome] {
    decodeAll(EventDecoder(fields: fields), payload)
}

/// The reasons of a payload expected to hold a single rejected document.
func singleError(fields: [String] = ["a"], _ payload: [UInt8]) -> DecodeError? {
    let out = decodeAll(EventDecoder(fields: fields), payload)
    guard out.count == 1, case .error(let e, _) = out[0] else { return nil }
    return e
}

func singleError(fields: [String] = ["a"], _ payload: String) -> DecodeError? {
    singleError(fields: fields, Array(payload.utf8))
}

final class EventDecoderTests: XCTestCase {

    // MARK: Framing

    func testSingleObjectYieldsOneEventWithTheRequestedFieldsInSlotOrder() {
        let out = decodeAll(fields: ["type", "n", "ok", "nothing", "missing"],
                            #"{"n": 42, "type": "http.request", "ok": true, "nothing": null}"#)
        XCTAssertEqual(out, [.event([.string("http.request"), .number(42), .bool(true), .null, .absent])])
    }

    func testNDJSONYieldsOneEventPerLineToleratingCRLFBlankLinesAndTrailingWhitespace() {
        let payload = "{\"a\":1}\r\n\n   \r\n{\"a\":2}\n\t{\"a\":3}  \r\n\n{\"a\":4}\n\n  \n"
        let out = decodeAll(fields: ["a"], payload)
        XCTAssertEqual(out, [1, 2, 3, 4].map { .event([.number(Double($0))]) })
    }

    func testLastLineWithoutNewlineIsDecoded() {
        XCTAssertEqual(decodeAll(fields: ["a"], "{\"a\":1}\n{\"a\":2}"), [.event([.number(1)]), .event([.number(2)])])
    }

    func testPrettyPrintedSingleObjectIsDecodedAsOneEvent() {
        let payload = "{\n  \"a\": 1,\n  \"b\": \"x\"\n}\n"
        XCTAssertEqual(decodeAll(fields: ["a", "b"], payload), [.event([.number(1), .string("x")])])
    }

    func testMalformedFirstLineOfNDJSONIsNotMistakenForAPrettyPrintedObject() {
        XCTAssertEqual(decodeAll(fields: ["a"], "{\"a\":1,\n{\"a\":2}\n"), [
            .error(.malformedJSON, line: "{\"a\":1,"), .event([.number(2)]),
        ])
        XCTAssertEqual(decodeAll(fields: ["a"], "{\n\"a\":1\n"), [
            .error(.malformedJSON, line: "{"), .error(.malformedJSON, line: "\"a\":1"),
        ])
    }

    func testPrettyPrintedObjectWithANestedValueIsRejectedAsAWhole() {
        let payload = "{\n  \"a\": 1,\n  \"b\": {\n    \"c\": 2\n  }\n}\n"
        let out = decodeAll(fields: ["a"], payload)
        XCTAssertEqual(out, [.error(.nestedValue, line: String(payload.dropLast()))])
    }

    func testLeadingByteOrderMarkIsSkipped() {
        let payload: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(#"{"a":"x"}"#.utf8)
        XCTAssertEqual(decodeAll(EventDecoder(fields: ["a"]), payload), [.event([.string("x")])])
    }

    func testEmptyPayloadEndsImmediately() {
        let decoder = EventDecoder(fields: ["a"])
        XCTAssertEqual(decodeAll(decoder, ""), [])
        XCTAssertEqual(decodeAll(decoder, " \n\r\n\t\n"), [])
        XCTAssertEqual(decoder.next(), .end, "end is sticky")
        XCTAssertEqual(decoder.currentLine.count, 0)
        XCTAssertEqual(decoder.slot(0).kind, .absent)
    }

    func testEmptyBufferWithNilBaseAddressEndsImmediately() {
        let decoder = EventDecoder(fields: ["a"])
        decoder.load(UnsafeRawBufferPointer(start: nil, count: 0))
        XCTAssertEqual(decoder.next(), .end)
    }

    // MARK: Field selection

    func testOnlyRequestedFieldsAreExtractedEvenWhenSimilarKeysArePresent() {
        let payload = #"{"t": 1, "ts_ms": 2, "TS": 3, "tss": 4, "ts ": 5, "service.name": "x", "a": {"ts": 9}}"#
        // nested "a" rejects the event; decode the flat part separately
        XCTAssertEqual(singleError(fields: ["ts"], payload), .nestedValue)
        let flat = #"{"t": 1, "ts_ms": 2, "TS": 3, "tss": 4, "ts ": 5, "service.name": "x", "servic": "y"}"#
        XCTAssertEqual(decodeAll(fields: ["ts", "service", "s"], flat), [.event([.absent, .absent, .absent])])
        XCTAssertEqual(decodeAll(fields: ["tss", "service.name", "ts"], flat + "\n" + #"{"ts":7}"#),
                       [.event([.number(4), .string("x"), .absent]), .event([.absent, .absent, .number(7)])])
    }

    func testFieldNamesAreMatchedAfterUnescapingTheKey() {
        let out = decodeAll(fields: ["ts", "café", "a\"b"], #"{"\u0074s": 1, "caf\u00e9": 2, "a\"b": 3}"#)
        XCTAssertEqual(out, [.event([.number(1), .number(2), .number(3)])])
    }

    func testAFieldListedTwiceFillsBothSlots() {
        XCTAssertEqual(decodeAll(fields: ["a", "b", "a"], #"{"a":"x","b":2}"#),
                       [.event([.string("x"), .number(2), .string("x")])])
    }

    func testEmptyFieldNameMatchesTheEmptyKey() {
        XCTAssertEqual(decodeAll(fields: ["", "a"], #"{"":1,"a":2}"#), [.event([.number(1), .number(2)])])
    }

    func testDecoderWithoutFieldsStillValidatesEvents() {
        let decoder = EventDecoder(fields: [])
        XCTAssertEqual(decodeAll(decoder, "{\"a\":1}\n{\"a\":[1]}\n"),
                       [.event([]), .error(.nestedValue, line: "{\"a\":[1]}")])
        XCTAssertEqual(decoder.slots.count, 0)
    }

    // MARK: Values

    func testEscapedStringsAreUnescaped() {
        let payload = #"{"a":"caf\u00e9","b":"\"quoted\"","c":"line\nbreak\ttab\\slash\/","d":"\ud83d\ude00","e":""}"#
        XCTAssertEqual(decodeAll(fields: ["a", "b", "c", "d", "e"], payload), [.event([
            .string("café"), .string("\"quoted\""), .string("line\nbreak\ttab\\slash/"), .string("😀"), .string(""),
        ])])
    }

    func testRawUTF8StringsArePassedThrough() {
        XCTAssertEqual(decodeAll(fields: ["a"], #"{"a":"Zürich 東京 😀"}"#), [.event([.string("Zürich 東京 😀")])])
    }

    func testNumbersParseAsDoublesIncludingNegativeZeroFractionsAndExponents() {
        let payload = #"{"a":-0,"b":0.5,"c":-12.25e2,"d":9007199254740993,"e":123456789012345678901234567890,"f":1E-400,"g":0}"#
        let out = decodeAll(fields: ["a", "b", "c", "d", "e", "f", "g"], payload)
        guard case .event(let v)? = out.first, out.count == 1 else { return XCTFail("\(out)") }
        XCTAssertEqual(v[0], .number(0))
        guard case .number(let negZero) = v[0] else { return XCTFail() }
        XCTAssertEqual(negZero.sign, .minus)
        XCTAssertEqual(v[1], .number(0.5))
        XCTAssertEqual(v[2], .number(-1225))
        XCTAssertEqual(v[3], .number(9_007_199_254_740_992)) // 2^53 + 1 rounds to nearest double
        XCTAssertEqual(v[4], .number(1.2345678901234568e29))
        XCTAssertEqual(v[5], .number(0), "underflow is zero, not an error")
        XCTAssertEqual(v[6], .number(0))
    }

    func testIntegersUpTo2Pow53AreExact() {
        let out = decodeAll(fields: ["a", "b"], #"{"a":9007199254740992,"b":-9007199254740991}"#)
        XCTAssertEqual(out, [.event([.number(9_007_199_254_740_992), .number(-9_007_199_254_740_991)])])
    }

    func testBooleansCarryOneAndZero() {
        let decoder = EventDecoder(fields: ["t", "f"])
        #"{"t":true,"f":false}"#.utf8.withContiguousStorageIfAvailable { decoder.load(UnsafeRawBufferPointer($0)) }
        XCTAssertEqual(decoder.next(), .event)
        XCTAssertEqual(decoder.slot(0).kind, .bool)
        XCTAssertEqual(decoder.slot(0).number, 1)
        XCTAssertEqual(decoder.slot(1).number, 0)
    }

    func testOneMebibyteStringValueIsExtracted() {
        let big = String(repeating: "abcdefghijklmnop", count: 65_536) // 1 MiB
        let payload = "{\"a\":1}\n{\"big\":\"\(big)\",\"a\":2}\n{\"a\":3}\n"
        let decoder = EventDecoder(fields: ["big", "a"])
        payload.utf8.withContiguousStorageIfAvailable { decoder.load(UnsafeRawBufferPointer($0)) }
        XCTAssertEqual(decoder.next(), .event)
        XCTAssertEqual(decoder.slot(0).kind, .absent)
        XCTAssertEqual(decoder.next(), .event)
        XCTAssertEqual(decoder.slot(0).string.count, 1 << 20)
        XCTAssertEqual(decoder.slot(0).stringValue, big)
        XCTAssertEqual(decoder.slot(1).number, 2)
        XCTAssertEqual(decoder.currentLine.count, big.utf8.count + 16)
        XCTAssertEqual(decoder.next(), .event)
        XCTAssertEqual(decoder.slot(1).number, 3)
        XCTAssertEqual(decoder.next(), .end)
    }

    // MARK: Rejections

    func testBadLineInTheMiddleIsReportedAndTheFollowingLinesStillDecode() {
        let payload = "{\"a\":1}\n{\"a\":2,\n{\"a\":3}\n  [1]  \r\n{\"a\":4}\n"
        XCTAssertEqual(decodeAll(fields: ["a"], payload), [
            .event([.number(1)]),
            .error(.malformedJSON, line: "{\"a\":2,"),
            .event([.number(3)]),
            .error(.notObject, line: "[1]"),
            .event([.number(4)]),
        ])
    }

    func testCurrentLineAndOffsetPointAtTheRejectedBytesAndSlotsAreAbsent() {
        let decoder = EventDecoder(fields: ["a"])
        let payload = Array("{\"a\":1}\n  {\"a\":NaN}\r\n".utf8)
        payload.withUnsafeBytes { decoder.load($0) }
        XCTAssertEqual(decoder.next(), .event)
        XCTAssertEqual(String(decoding: decoder.currentLine, as: UTF8.self), "{\"a\":1}")
        XCTAssertEqual(decoder.currentOffset, 0)
        XCTAssertEqual(decoder.next(), .error(.malformedJSON))
        XCTAssertEqual(String(decoding: decoder.currentLine, as: UTF8.self), "{\"a\":NaN}")
        XCTAssertEqual(decoder.currentOffset, 10)
        XCTAssertEqual(decoder.slot(0).kind, .absent)
        XCTAssertEqual(decoder.next(), .end)
    }

    func testTruncatedJSONIsMalformed() {
        for payload in [#"{"a":1"#, #"{"a":1,"#, #"{"a":"#, #"{"a":"tru"#, #"{"a"#, "{", #"{"a":1,"b":[1,2"#, #"{"a":"x\"#] {
            XCTAssertEqual(singleError(payload), .malformedJSON, payload)
        }
    }

    func testSyntaxErrorsAreMalformed() {
        let cases = [
            #"{"a":1 "b":2}"#, #"{"a" 1}"#, #"{,}"#, #"{"a":}"#, #"{"a":1,}"#, #"{a:1}"#, #"{'a':1}"#,
            #"{"a":tru}"#, #"{"a":nul}"#, #"{"a":01}"#, #"{"a":1.}"#, #"{"a":-}"#, #"{"a":.5}"#, #"{"a":+1}"#,
            #"{"skipped":tru,"a":1}"#, #"{"skipped":1.2.3,"a":1}"#, #"{"skipped":fals}"#,
            #"{"a":"\x"}"#, #"{"a":"\u12"}"#, "{\"a\":\"tab\there\"}".replacingOccurrences(of: "\\t", with: "\t"),
        ]
        for payload in cases {
            XCTAssertEqual(singleError(payload), .malformedJSON, payload)
        }
    }

    func testNaNAndInfinityLiteralsAreMalformed() {
        for payload in [#"{"a":NaN}"#, #"{"a":Infinity}"#, #"{"a":-Infinity}"#, #"{"skipped":NaN}"#, #"{"a":nan}"#] {
            XCTAssertEqual(singleError(payload), .malformedJSON, payload)
        }
    }

    func testTrailingContentAfterTheObjectIsMalformed() {
        for payload in [#"{"a":1} x"#, #"{"a":1}}"#, #"{"a":1} {"a":2}"#, #"{"a":1},"#, #"{"a":1}]"#] {
            XCTAssertEqual(singleError(payload), .malformedJSON, payload)
        }
    }

    func testValidJSONThatIsNotAnObjectIsNotObject() {
        for payload in ["[1,2]", #""str""#, "42", "true", "null", "[]", #"[{"a":1}]"#, "-0.5"] {
            XCTAssertEqual(singleError(payload), .notObject, payload)
        }
    }

    func testInvalidJSONThatIsNotAnObjectIsMalformed() {
        for payload in ["[1,2", "[1,]", "tru", #""str" x"#, "[1] 2", "01"] {
            XCTAssertEqual(singleError(payload), .malformedJSON, payload)
        }
    }

    func testObjectOrArrayValuesAreNestedWhetherExtractedOrSkipped() {
        for payload in [#"{"a":{"b":1}}"#, #"{"a":[1,2]}"#, #"{"x":{}}"#, #"{"x":[]}"#, #"{"a":1,"x":[{"y":[1]}]}"#] {
            XCTAssertEqual(singleError(payload), .nestedValue, payload)
        }
    }

    func testNestedValueInABrokenLineIsMalformed() {
        for payload in [#"{"a":{"b":}}"#, #"{"a":[1,}"#, #"{"a":[1,2]"#, #"{"a":{"b":1},"c":tru}"#] {
            XCTAssertEqual(singleError(payload), .malformedJSON, payload)
        }
    }

    func testDeeplyNestedValuesAreRejectedWithoutExhaustingTheStack() {
        let depth = 100_000
        let payload = "{\"a\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}\n{\"a\":1}"
        let out = decodeAll(fields: ["a"], payload)
        XCTAssertEqual(out.count, 2)
        if case .error(let e, _) = out[0] {
            XCTAssertTrue(e == .nestedValue || e == .malformedJSON, "\(e)")
        } else {
            XCTFail("\(out[0])")
        }
        XCTAssertEqual(out[1], .event([.number(1)]))
    }

    func testOutOfRangeNumbersAreBadNumber() {
        for payload in [#"{"a":1e400}"#, #"{"a":-1e400}"#, #"{"a":1.7976931348623159e308}"#, #"{"skipped":1e400,"a":1}"#] {
            XCTAssertEqual(singleError(payload), .badNumber, payload)
        }
    }

    func testInvalidUTF8BytesAreInvalidUTF8WhetherExtractedOrSkipped() {
        let cases: [[UInt8]] = [
            Array(#"{"a":""#.utf8) + [0xFF] + Array(#""}"#.utf8),
            Array(#"{"a":""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8),         // overlong "/"
            Array(#"{"a":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8),   // UTF-8-encoded surrogate
            Array(#"{"skipped":""#.utf8) + [0xE2, 0x82] + Array(#"","a":1}"#.utf8), // truncated sequence
            Array(#"{""#.utf8) + [0xFE] + Array(#"":1}"#.utf8),                  // in a key
        ]
        for payload in cases {
            XCTAssertEqual(singleError(payload), .invalidUTF8, "\(payload)")
        }
    }

    /// Decision: an unpaired surrogate escape cannot be turned into UTF-8, so an extracted string
    /// (or a key that needs unescaping) containing one is rejected as invalid_utf8. Strings of
    /// skipped fields are never unescaped, so there it goes unnoticed and the event decodes.
    func testUnpairedSurrogateEscapeIsInvalidUTF8InExtractedStringsAndIgnoredInSkippedOnes() {
        for payload in [#"{"a":"\ud800"}"#, #"{"a":"x\udc00y"}"#, #"{"a":"\ud800\u0041"}"#, #"{"\ud800":1}"#] {
            XCTAssertEqual(singleError(payload), .invalidUTF8, payload)
        }
        XCTAssertEqual(decodeAll(fields: ["a"], #"{"skipped":"\ud800","a":1}"#), [.event([.number(1)])])
    }

    func testDuplicateExtractedKeyIsDuplicateKeyButDuplicateSkippedKeysAreFine() {
        XCTAssertEqual(singleError(#"{"a":1,"b":2,"a":1}"#), .duplicateKey)
        XCTAssertEqual(singleError(#"{"a":1,"\u0061":2}"#), .duplicateKey)
        XCTAssertEqual(singleError(#"{"a":null,"a":"x"}"#), .duplicateKey)
        XCTAssertEqual(decodeAll(fields: ["a"], #"{"b":1,"b":2,"a":3}"#), [.event([.number(3)])])
        // The same key in the next line is of course fine.
        XCTAssertEqual(decodeAll(fields: ["a"], "{\"a\":1}\n{\"a\":2}"), [.event([.number(1)]), .event([.number(2)])])
    }

    func testDuplicateKeyInABrokenLineIsMalformed() {
        XCTAssertEqual(singleError(#"{"a":1,"a":2"#), .malformedJSON)
    }

    // MARK: Buffer reuse and volume

    func testBufferIsReusedAcrossLoadsOfDifferentSizesWithoutStaleBytes() {
        let decoder = EventDecoder(fields: ["a", "s"])
        let large = (0..<500).map { "{\"a\":\($0),\"s\":\"\(String(repeating: "x", count: $0))\"}" }.joined(separator: "\n")
        let largeOut = decodeAll(decoder, large)
        XCTAssertEqual(largeOut.count, 500)
        XCTAssertEqual(largeOut.last, .event([.number(499), .string(String(repeating: "x", count: 499))]))

        XCTAssertEqual(decodeAll(decoder, #"{"a":1}"#), [.event([.number(1), .absent])])
        XCTAssertEqual(decodeAll(decoder, "{\"a\":2,\"s\":\"y\"}\n{\"a\""), [
            .event([.number(2), .string("y")]), .error(.malformedJSON, line: "{\"a\""),
        ])
        XCTAssertEqual(decodeAll(decoder, ""), [])
        let again = decodeAll(decoder, large + "\n" + large)
        XCTAssertEqual(again.count, 1000)
        XCTAssertEqual(again, largeOut + largeOut)
    }

    func testLoadRewindsEvenWhenThePreviousPayloadWasNotDrained() {
        let decoder = EventDecoder(fields: ["a"])
        Array("{\"a\":1}\n{\"a\":2}".utf8).withUnsafeBytes { decoder.load($0) }
        XCTAssertEqual(decoder.next(), .event)
        XCTAssertEqual(decodeAll(decoder, "{\"a\":3}"), [.event([.number(3)])])
    }

    func testTenThousandEventsInOnePayloadAllDecode() {
        var payload = ""
        for i in 0..<10_000 {
            payload += #"{"ts":"2026-11-23T10:00:00Z","type":"order","seq":\#(i),"amount":\#(Double(i) / 4),"ok":\#(i % 2 == 0)}"#
            payload += i % 3 == 0 ? "\r\n" : "\n"
        }
        let decoder = EventDecoder(fields: ["seq", "amount", "ok", "type"])
        payload.utf8.withContiguousStorageIfAvailable { decoder.load(UnsafeRawBufferPointer($0)) }
        var count = 0
        while case .event = decoder.next() {
            XCTAssertEqual(decoder.slot(0).number, Double(count))
            XCTAssertEqual(decoder.slot(1).number, Double(count) / 4)
            XCTAssertEqual(decoder.slot(2).number, count % 2 == 0 ? 1 : 0)
            XCTAssertEqual(decoder.slot(3).string.count, 5)
            count += 1
        }
        XCTAssertEqual(count, 10_000)
        XCTAssertEqual(decoder.next(), .end)
    }

    func testDecodeErrorRawValuesAreTheRejectReasonNames() {
        XCTAssertEqual(DecodeError.allCases.map(\.rawValue),
                       ["malformed_json", "not_object", "nested_value", "bad_number", "invalid_utf8", "duplicate_key",
                        "too_many_fields", "field_too_long"])
    }
}
