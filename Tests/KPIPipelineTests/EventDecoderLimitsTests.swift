import KPICore
import XCTest

@testable import KPIPipeline

/// The per-event limits of the decoder (`max_fields_per_event`, `max_field_bytes`) and its
/// behaviour on pathologically deep nesting.
final class EventDecoderLimitsTests: XCTestCase {
    private func decoder(maxFields: Int = .max, maxFieldBytes: Int = .max, fields: [String] = ["a", "b"]) -> EventDecoder {
        EventDecoder(fields: fields, limits: EventDecoder.Limits(maxFields: maxFields, maxFieldBytes: maxFieldBytes))
    }

    private func object(fields n: Int) -> String {
        "{" + (0..<n).map { "\"f\($0)\":\($0)" }.joined(separator: ",") + "}"
    }

    func testAnEventWithExactlyMaxFieldsDecodesAndOneMoreIsTooManyFields() {
        let d = decoder(maxFields: 4)
        XCTAssertEqual(decodeAll(d, object(fields: 4)), [.event([.absent, .absent])])
        let out = decodeAll(d, object(fields: 5))
        XCTAssertEqual(out, [.error(.tooManyFields, line: object(fields: 5))])
    }

    func testSkippedFieldsCountTowardsTheFieldLimit() {
        let d = decoder(maxFields: 2)
        XCTAssertEqual(decodeAll(d, #"{"x":1,"y":"s","a":3}"#).first, .error(.tooManyFields, line: #"{"x":1,"y":"s","a":3}"#))
    }

    func testTooManyFieldsLineDoesNotStopTheFollowingLines() {
        let d = decoder(maxFields: 3)
        let out = decodeAll(d, object(fields: 10) + "\n" + #"{"a":1,"b":"x"}"#)
        XCTAssertEqual(out.count, 2)
        XCTAssertEqual(out[1], .event([.number(1), .string("x")]))
    }

    func testExtractedStringOfExactlyMaxFieldBytesDecodesAndOneByteMoreIsFieldTooLong() {
        let d = decoder(maxFieldBytes: 8)
        XCTAssertEqual(decodeAll(d, #"{"a":"12345678"}"#), [.event([.string("12345678"), .absent])])
        XCTAssertEqual(decodeAll(d, #"{"a":"123456789"}"#), [.error(.fieldTooLong, line: #"{"a":"123456789"}"#)])
    }

    func testFieldLengthIsMeasuredAfterUnescaping() {
        let d = decoder(maxFieldBytes: 2)
        // Twelve bytes of escapes that unescape to two bytes ("é" is C3 A9).
        XCTAssertEqual(decodeAll(d, #"{"a":"\u00e9"}"#), [.event([.string("é"), .absent])])
        XCTAssertEqual(decodeAll(d, #"{"a":"\u00e9x"}"#).count, 1)
        XCTAssertEqual(singleErrorWith(d, #"{"a":"\u00e9x"}"#), .fieldTooLong)
    }

    func testLongStringsInFieldsThatAreNotExtractedAreNotMeasured() {
        let d = decoder(maxFieldBytes: 4)
        let payload = #"{"skipped":""# + String(repeating: "z", count: 10_000) + #"","a":"ok"}"#
        XCTAssertEqual(decodeAll(d, payload), [.event([.string("ok"), .absent])])
    }

    func testOneMebibyteExtractedStringIsFieldTooLongUnderTheDefaultConfigLimit() {
        let d = decoder(maxFieldBytes: LimitsConfig().maxFieldBytes)
        let payload = #"{"a":""# + String(repeating: "x", count: 1 << 20) + #""}"#
        XCTAssertEqual(singleErrorWith(d, payload), .fieldTooLong)
    }

    func testDefaultLimitsAreUnlimited() {
        let d = EventDecoder(fields: ["a"])
        XCTAssertEqual(d.limits, EventDecoder.Limits(maxFields: .max, maxFieldBytes: .max))
        XCTAssertEqual(decodeAll(d, object(fields: 1_000)).count, 1)
        if case .event = decodeAll(d, object(fields: 1_000))[0] {} else { XCTFail("1000 fields rejected without limits") }
    }

    // MARK: Deep nesting (10,000 levels; the validator recurses only 64 deep)

    func testTenThousandLevelsOfArraysInsideAFieldAreNestedValue() {
        let depth = 10_000
        let payload = #"{"a":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
        XCTAssertEqual(singleErrorWith(decoder(), payload), .nestedValue)
    }

    func testTenThousandLevelsOfObjectsInsideAFieldAreNestedValue() {
        let depth = 10_000
        let payload = #"{"a":"# + String(repeating: #"{"k":"#, count: depth) + "1" + String(repeating: "}", count: depth) + "}"
        XCTAssertEqual(singleErrorWith(decoder(), payload), .nestedValue)
    }

    func testTenThousandLevelsOfArraysAtTheRootAreNotObject() {
        let depth = 10_000
        let payload = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        XCTAssertEqual(singleErrorWith(decoder(), payload), .notObject)
    }

    func testTenThousandUnclosedBracketsAreMalformedAndTheNextLineStillDecodes() {
        let d = decoder()
        let out = decodeAll(d, String(repeating: "[", count: 10_000) + "\n" + #"{"a":2}"#)
        XCTAssertEqual(out.count, 2)
        if case .error(let e, _) = out[0] { XCTAssertEqual(e, .malformedJSON) } else { XCTFail("\(out[0])") }
        XCTAssertEqual(out[1], .event([.number(2), .absent]))
    }

    private func singleErrorWith(_ d: EventDecoder, _ payload: String) -> DecodeError? {
        let out = decodeAll(d, payload)
        guard out.count == 1, case .error(let e, _) = out[0] else { return nil }
        return e
    }
}
