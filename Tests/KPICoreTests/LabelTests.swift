import XCTest
@testable import KPICore

/// Label sets: how group-by values become canonical JSON, and which events share a label set.
final class LabelTests: XCTestCase {
    /// The label JSON of each row after folding one event per field set, sorted, and the samples per row.
    private func labels(groupBy: [String], _ events: [[String: JSON]]) -> [(labels: String, samples: Int64)] {
        let e = makeEngine([MetricDefinition(name: "m", events: ["t"], aggregate: .count, groupBy: groupBy, windows: [.minute])])
        for f in events { ingest(e, "t", at: ms("2026-05-10T12:00:10Z"), f) }
        return sortedRows(e.flush()).map { ($0.labels, $0.samples) }
    }

    private func json(groupBy: [String], _ fields: [String: JSON], file: StaticString = #filePath, line: UInt = #line) -> String {
        let rows = labels(groupBy: groupBy, [fields])
        XCTAssertEqual(rows.count, 1, file: file, line: line)
        return rows.first?.labels ?? ""
    }

    // MARK: Through the engine

    func testLabelsAreAnEmptyObjectWithoutGroupBy() {
        XCTAssertEqual(json(groupBy: [], ["route": "/a"]), "{}")
    }

    func testLabelKeysAreSortedByTheirBytes() {
        // "Zone" (Z = 0x5A) < "a" (0x61) < "route" < "é" (0xC3 0xA9).
        XCTAssertEqual(json(groupBy: ["route", "é", "a", "Zone"], ["route": "/x", "é": "e", "a": "1", "Zone": "eu"]),
                       #"{"Zone":"eu","a":"1","route":"/x","é":"e"}"#)
    }

    func testIntegralNumbersAreRenderedWithoutAFraction() {
        XCTAssertEqual(json(groupBy: ["status"], ["status": 200.0]), #"{"status":"200"}"#)
        XCTAssertEqual(json(groupBy: ["status"], ["status": -3]), #"{"status":"-3"}"#)
    }

    func testFractionalNumbersAreRenderedInShortestForm() {
        XCTAssertEqual(json(groupBy: ["ratio"], ["ratio": 0.25]), #"{"ratio":"0.25"}"#)
        XCTAssertEqual(json(groupBy: ["ratio"], ["ratio": 0.1]), #"{"ratio":"0.1"}"#)
    }

    func testBooleansAreRenderedAsTrueAndFalse() {
        XCTAssertEqual(json(groupBy: ["ok"], ["ok": true]), #"{"ok":"true"}"#)
        XCTAssertEqual(json(groupBy: ["ok"], ["ok": false]), #"{"ok":"false"}"#)
    }

    func testAbsentAndNullValuesAreTheSameNullLabel() {
        let rows = labels(groupBy: ["region", "route"], [["route": "/a"], ["route": "/a", "region": .null]])
        XCTAssertEqual(rows.map(\.labels), [#"{"region":null,"route":"/a"}"#])
        XCTAssertEqual(rows.map(\.samples), [2])
    }

    func testLabelValuesAreEscaped() {
        XCTAssertEqual(json(groupBy: ["v"], ["v": "a\"b\\c\nd\te\r\u{1}"]), #"{"v":"a\"b\\c\nd\te\r\u0001"}"#)
    }

    func testValuesOfTheSameLengthButDifferentContentAreSeparateGroups() {
        let rows = labels(groupBy: ["route"], [
            ["route": "/api/a"], ["route": "/api/b"], ["route": "/api/a"],
            ["route": "/api/v1/users/aa"], ["route": "/api/v1/users/ab"], ["route": "/api/v1/users/ba"],
        ])
        XCTAssertEqual(rows.map(\.labels), [
            #"{"route":"/api/a"}"#, #"{"route":"/api/b"}"#,
            #"{"route":"/api/v1/users/aa"}"#, #"{"route":"/api/v1/users/ab"}"#, #"{"route":"/api/v1/users/ba"}"#,
        ])
        XCTAssertEqual(rows.map(\.samples), [2, 1, 1, 1, 1])
    }

    func testLabelSetsDifferingInOneOfSeveralFieldsAreSeparateGroups() {
        let rows = labels(groupBy: ["a", "b"], [["a": "x", "b": "y"], ["a": "y", "b": "x"], ["a": "x", "b": "y"]])
        XCTAssertEqual(rows.map(\.labels), [#"{"a":"x","b":"y"}"#, #"{"a":"y","b":"x"}"#])
        XCTAssertEqual(rows.map(\.samples), [2, 1])
    }

    func testNegativeZeroIsTheSameLabelAsZero() {
        let rows = labels(groupBy: ["n"], [["n": 0], ["n": .number(-0.0)]])
        XCTAssertEqual(rows.map(\.labels), [#"{"n":"0"}"#])
        XCTAssertEqual(rows.map(\.samples), [2])
    }

    func testEmptyStringIsOneLabelWhateverItsStorage() {
        let rows = labels(groupBy: ["r"], [["r": ""], ["r": .emptyStringWithoutStorage]])
        XCTAssertEqual(rows.map(\.labels), [#"{"r":""}"#])
        XCTAssertEqual(rows.map(\.samples), [2])
    }

    func testValuesWithTheSameLabelTextAreOneLabelSet() {
        // Rows are keyed by their label JSON (the store's primary key): a number 200 and a string
        // "200" both show as "200", so they must be one label set, not two rows with one key.
        let rows = labels(groupBy: ["status", "ok"], [
            ["status": 200, "ok": true], ["status": "200", "ok": true],
            ["status": 200, "ok": "true"], ["status": "200", "ok": "true"], ["status": 200, "ok": true],
        ])
        XCTAssertEqual(rows.map(\.labels), [#"{"ok":"true","status":"200"}"#])
        XCTAssertEqual(rows.map(\.samples), [5])
    }

    func testLabelJSONIsUniquePerRowKeyAcrossManyMixedGroups() {
        var events: [[String: JSON]] = []
        for i in 0..<50 {
            events.append(["k": .number(Double(i % 10))])
            events.append(["k": .string(String(i % 10))])
        }
        let rows = labels(groupBy: ["k"], events)
        XCTAssertEqual(rows.count, 10)
        XCTAssertEqual(Set(rows.map(\.labels)).count, 10)
        XCTAssertEqual(rows.map(\.samples), Array(repeating: 10, count: 10))
    }

    // MARK: LabelValue

    func testFormatRendersIntegralNumbersWithoutAFraction() {
        XCTAssertEqual(LabelValue.format(200), "200")
        XCTAssertEqual(LabelValue.format(200.0), "200")
        XCTAssertEqual(LabelValue.format(0), "0")
        XCTAssertEqual(LabelValue.format(-0.0), "0")
        XCTAssertEqual(LabelValue.format(-7), "-7")
        XCTAssertEqual(LabelValue.format(1e15), "1000000000000000")
        XCTAssertEqual(LabelValue.format(9_007_199_254_740_991), "9007199254740991")
    }

    func testFormatRendersOtherNumbersInShortestRoundTripForm() {
        XCTAssertEqual(LabelValue.format(0.25), "0.25")
        XCTAssertEqual(LabelValue.format(0.1), "0.1")
        XCTAssertEqual(LabelValue.format(-1.5), "-1.5")
        XCTAssertEqual(LabelValue.format(0.1 + 0.2), "0.30000000000000004")
        for x in [1.0 / 3.0, 123.456, 1e-7, 6.02214076e23, -2.5e-300] {
            let text = LabelValue.format(x)
            XCTAssertEqual(Double(text), x, text)
        }
    }

    func testLabelValueCopiesAndNormalisesDecodedFields() {
        let event = EventFields(catalog: FieldCatalog())
        XCTAssertEqual(LabelValue(event.stringValue("é/x")), .string(Array("é/x".utf8)))
        if case .number(let z) = LabelValue(FieldValue(kind: .number, number: -0.0)) {
            XCTAssertEqual(z.sign, .plus, "-0 is stored as 0")
        } else {
            XCTFail("a number gives a number label")
        }
        XCTAssertEqual(LabelValue(FieldValue(kind: .number, number: 2.5)), .number(2.5))
        XCTAssertEqual(LabelValue(FieldValue(kind: .bool, number: 1)), .bool(true))
        XCTAssertEqual(LabelValue(FieldValue(kind: .bool, number: 0)), .bool(false))
        XCTAssertEqual(LabelValue(FieldValue(kind: .null)), .null)
        XCTAssertEqual(LabelValue(.absent), .null)
    }

    func testLabelValueText() {
        XCTAssertEqual(LabelValue.string(Array("/a".utf8)).text, "/a")
        XCTAssertEqual(LabelValue.number(200).text, "200")
        XCTAssertEqual(LabelValue.number(0.25).text, "0.25")
        XCTAssertEqual(LabelValue.bool(true).text, "true")
        XCTAssertNil(LabelValue.null.text)
    }

    func testLabelValueMatchesOnlyTheSameKindAndValue() {
        let event = EventFields(catalog: FieldCatalog())
        let abc = LabelValue.string(Array("abc".utf8))
        XCTAssertTrue(abc.matches(event.stringValue("abc")))
        XCTAssertFalse(abc.matches(event.stringValue("abd")))
        XCTAssertFalse(abc.matches(event.stringValue("ab")))
        XCTAssertTrue(LabelValue.string([]).matches(event.stringValue("")))
        XCTAssertTrue(LabelValue.string([]).matches(FieldValue(kind: .string)))
        XCTAssertTrue(LabelValue.number(0).matches(FieldValue(kind: .number, number: -0.0)))
        XCTAssertFalse(LabelValue.number(1).matches(FieldValue(kind: .bool, number: 1)))
        XCTAssertTrue(LabelValue.bool(false).matches(FieldValue(kind: .bool, number: 0)))
        XCTAssertTrue(LabelValue.null.matches(.absent))
        XCTAssertTrue(LabelValue.null.matches(FieldValue(kind: .null)))
        XCTAssertFalse(LabelValue.null.matches(event.stringValue("")))
    }

    // MARK: CanonicalLabels

    func testQuoteLeavesOrdinaryTextAlone() {
        XCTAssertEqual(CanonicalLabels.quote(""), #""""#)
        XCTAssertEqual(CanonicalLabels.quote("/api/v1"), #""/api/v1""#)
        XCTAssertEqual(CanonicalLabels.quote("héllo ✓ 🙂"), "\"héllo ✓ 🙂\"")
        XCTAssertEqual(CanonicalLabels.quote("\u{7F}"), "\"\u{7F}\"") // DEL is not a JSON control character
    }

    func testQuoteEscapesQuotesBackslashesAndControlCharacters() {
        XCTAssertEqual(CanonicalLabels.quote(#"say "hi""#), #""say \"hi\"""#)
        XCTAssertEqual(CanonicalLabels.quote(#"C:\dir"#), #""C:\\dir""#)
        XCTAssertEqual(CanonicalLabels.quote("a\nb\rc\td"), #""a\nb\rc\td""#)
        // Backspace and form feed take JSON's short escapes (RFC 8259 §7), the rest \u00XX.
        XCTAssertEqual(CanonicalLabels.quote("\u{0}\u{1}\u{8}\u{C}\u{1F}"), #""\u0000\u0001\b\f\u001f""#)
    }

    func testQuotedTextIsValidJSONForTheSameString() throws {
        var s = ""
        for v in 0..<0x80 { s.unicodeScalars.append(Unicode.Scalar(UInt8(v))) }
        s += "é🙂"
        let data = Data(("[" + CanonicalLabels.quote(s) + "]").utf8)
        let decoded = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String])
        XCTAssertEqual(decoded, [s])
    }

    func testJSONOfAStringDictionarySortsKeysByBytes() {
        XCTAssertEqual(CanonicalLabels.json([:]), "{}")
        XCTAssertEqual(CanonicalLabels.json(["b": "2", "a": "1", "B": "3", "é": "4", "aa": "5"]),
                       #"{"B":"3","a":"1","aa":"5","b":"2","é":"4"}"#)
    }

    func testJSONOfNamesAndValues() {
        XCTAssertEqual(CanonicalLabels.json(names: [], values: []), "{}")
        XCTAssertEqual(CanonicalLabels.json(names: ["z", "x\"y", "m"],
                                            values: [.null, .number(1.5), .bool(false)]),
                       #"{"m":"false","x\"y":"1.5","z":null}"#)
    }
}
