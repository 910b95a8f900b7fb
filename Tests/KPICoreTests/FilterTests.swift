import XCTest
@testable import KPICore

/// Filter semantics, evaluated on compiled filters and through the engine.
final class FilterTests: XCTestCase {
    private func outcome(_ expr: FilterExpr, _ fields: [String: JSON]) -> FilterOutcome {
        evaluate(expr, fields).outcome
    }

    private func matches(_ expr: FilterExpr, _ fields: [String: JSON], file: StaticString = #filePath, line: UInt = #line) -> Bool {
        let o = outcome(expr, fields)
        if case .wrongType = o { XCTFail("unexpected type error for \(fields)", file: file, line: line) }
        return o == .match
    }

    private func assertWrongType(_ expr: FilterExpr, _ fields: [String: JSON], field: String,
                                 file: StaticString = #filePath, line: UInt = #line) {
        let (o, catalog) = evaluate(expr, fields)
        guard let slot = catalog.existingSlot(for: field) else {
            return XCTFail("no slot for \(field)", file: file, line: line)
        }
        XCTAssertEqual(o, .wrongType(slot: slot), file: file, line: line)
    }

    private func cmp(_ field: String, _ op: ComparisonOperator, _ value: FilterLiteral) -> FilterExpr {
        .compare(field: field, op: op, value: value)
    }

    // MARK: Comparisons

    func testNumberComparisons() {
        // Against 500, for the values 499, 500 and 501.
        let expected: [ComparisonOperator: [Bool]] = [
            .equal: [false, true, false],
            .notEqual: [true, false, true],
            .less: [true, false, false],
            .lessOrEqual: [true, true, false],
            .greater: [false, false, true],
            .greaterOrEqual: [false, true, true],
        ]
        for op in ComparisonOperator.allCases {
            let got = [499, 500, 501].map { matches(cmp("status", op, .number(500)), ["status": .number(Double($0))]) }
            XCTAssertEqual(got, expected[op], "status \(op.rawValue) 500")
        }
    }

    func testNumbersCompareNumericallyNotAsText() {
        XCTAssertTrue(matches(cmp("n", .less, .number(10)), ["n": 9]))
        XCTAssertTrue(matches(cmp("n", .equal, .number(1000)), ["n": 1e3]))
        XCTAssertTrue(matches(cmp("n", .greater, .number(-1)), ["n": -0.5]))
        XCTAssertTrue(matches(cmp("n", .equal, .number(0)), ["n": .number(-0.0)]))
    }

    func testStringComparisonsAreByteWise() {
        let expected: [ComparisonOperator: [Bool]] = [
            .equal: [false, true, false],
            .notEqual: [true, false, true],
            .less: [true, false, false],
            .lessOrEqual: [true, true, false],
            .greater: [false, false, true],
            .greaterOrEqual: [false, true, true],
        ]
        for op in ComparisonOperator.allCases {
            let got = ["abc", "abd", "abe"].map { matches(cmp("s", op, .string("abd")), ["s": .string($0)]) }
            XCTAssertEqual(got, expected[op], "s \(op.rawValue) \"abd\"")
        }
        XCTAssertTrue(matches(cmp("s", .less, .string("abc")), ["s": "ab"]), "a prefix sorts first")
        XCTAssertTrue(matches(cmp("s", .less, .string("a")), ["s": "Z"]), "upper case sorts before lower case")
        XCTAssertTrue(matches(cmp("s", .greater, .string("z")), ["s": "é"]), "UTF-8 order: é is 0xC3 0xA9")
        XCTAssertTrue(matches(cmp("s", .less, .string("abcdefghj")), ["s": "abcdefghi"]), "difference after 8 bytes")
        XCTAssertTrue(matches(cmp("s", .greater, .string("zzzzzzzz")), ["s": "éééé"]), "bytes are unsigned in 8-byte words too")
        XCTAssertTrue(matches(cmp("s", .less, .string("0123456é")), ["s": "0123456z"]))
        XCTAssertTrue(matches(cmp("s", .equal, .string("/api/v1/users/42")), ["s": "/api/v1/users/42"]))
        XCTAssertFalse(matches(cmp("s", .equal, .string("/api/v1/users/42")), ["s": "/api/v1/users/43"]))
        XCTAssertTrue(matches(cmp("s", .equal, .string("")), ["s": .emptyStringWithoutStorage]))
        XCTAssertTrue(matches(cmp("s", .less, .string("a")), ["s": ""]))
    }

    func testBooleanEquality() {
        XCTAssertTrue(matches(cmp("ok", .equal, .bool(true)), ["ok": true]))
        XCTAssertFalse(matches(cmp("ok", .equal, .bool(true)), ["ok": false]))
        XCTAssertTrue(matches(cmp("ok", .notEqual, .bool(true)), ["ok": false]))
        XCTAssertFalse(matches(cmp("ok", .notEqual, .bool(false)), ["ok": false]))
    }

    // MARK: Absent and null

    func testComparisonsOfAnAbsentOrNullFieldAreFalseExceptNotEqual() {
        for literal in [FilterLiteral.number(5), .string("x"), .bool(true)] {
            for fields in [[:], ["f": JSON.null]] as [[String: JSON]] {
                for op in ComparisonOperator.allCases where literal != .bool(true) || op == .equal || op == .notEqual {
                    XCTAssertEqual(matches(cmp("f", op, literal), fields), op == .notEqual, "\(fields) \(op.rawValue) \(literal)")
                }
            }
        }
    }

    func testEqualsNullMatchesAbsentAndNullFields() {
        XCTAssertTrue(matches(cmp("f", .equal, .null), [:]))
        XCTAssertTrue(matches(cmp("f", .equal, .null), ["f": .null]))
        for v: JSON in [0, false, "", "x"] {
            XCTAssertFalse(matches(cmp("f", .equal, .null), ["f": v]), "\(v)")
            XCTAssertTrue(matches(cmp("f", .notEqual, .null), ["f": v]), "\(v)")
        }
        XCTAssertFalse(matches(cmp("f", .notEqual, .null), [:]))
        XCTAssertFalse(matches(cmp("f", .notEqual, .null), ["f": .null]))
    }

    // MARK: Type errors

    func testComparingAFieldWithALiteralOfAnotherTypeIsATypeError() {
        assertWrongType(cmp("status", .greaterOrEqual, .number(500)), ["status": "500"], field: "status")
        assertWrongType(cmp("status", .equal, .number(1)), ["status": true], field: "status")
        assertWrongType(cmp("route", .equal, .string("/a")), ["route": 1], field: "route")
        assertWrongType(cmp("route", .notEqual, .string("/a")), ["route": false], field: "route")
        assertWrongType(cmp("ok", .equal, .bool(true)), ["ok": 1], field: "ok")
        assertWrongType(cmp("ok", .equal, .bool(true)), ["ok": "true"], field: "ok")
    }

    // MARK: In-lists

    func testInListOfNumbers() {
        let f = FilterExpr.oneOf(field: "status", values: [.number(500), .number(502), .number(503)])
        XCTAssertTrue(matches(f, ["status": 502]))
        XCTAssertFalse(matches(f, ["status": 501]))
        XCTAssertFalse(matches(f, [:]))
        XCTAssertFalse(matches(f, ["status": .null]))
        assertWrongType(f, ["status": "502"], field: "status")
    }

    func testInListOfStrings() {
        let f = FilterExpr.oneOf(field: "shop", values: [.string("a"), .string("bb"), .string("")])
        XCTAssertTrue(matches(f, ["shop": "bb"]))
        XCTAssertTrue(matches(f, ["shop": ""]))
        XCTAssertFalse(matches(f, ["shop": "b"]))
        XCTAssertFalse(matches(f, ["shop": "bbb"]))
        XCTAssertFalse(matches(f, [:]))
        assertWrongType(f, ["shop": 1], field: "shop")
    }

    func testInListWithNullMatchesAbsentAndNullFields() {
        let f = FilterExpr.oneOf(field: "shop", values: [.string("a"), .null])
        XCTAssertTrue(matches(f, [:]))
        XCTAssertTrue(matches(f, ["shop": .null]))
        XCTAssertTrue(matches(f, ["shop": "a"]))
        XCTAssertFalse(matches(f, ["shop": "b"]))
    }

    func testInListOfMixedKindsMatchesEachKind() {
        let f = FilterExpr.oneOf(field: "v", values: [.number(1), .string("one"), .bool(true)])
        XCTAssertTrue(matches(f, ["v": 1]))
        XCTAssertTrue(matches(f, ["v": "one"]))
        XCTAssertTrue(matches(f, ["v": true]))
        XCTAssertFalse(matches(f, ["v": "1"]))
        XCTAssertFalse(matches(f, ["v": 2]))
        XCTAssertFalse(matches(f, ["v": false]))
    }

    func testInListOfBooleans() {
        let f = FilterExpr.oneOf(field: "ok", values: [.bool(false)])
        XCTAssertTrue(matches(f, ["ok": false]))
        XCTAssertFalse(matches(f, ["ok": true]))
    }

    // MARK: exists and prefix

    func testExistsMeansPresentAndNotNull() {
        let f = FilterExpr.exists(field: "bot")
        for v: JSON in [0, false, "", .emptyStringWithoutStorage, "yes", 1.5] {
            XCTAssertTrue(matches(f, ["bot": v]), "\(v)")
        }
        XCTAssertFalse(matches(f, [:]))
        XCTAssertFalse(matches(f, ["bot": .null]))
    }

    func testPrefix() {
        let f = FilterExpr.hasPrefix(field: "route", prefix: "/api/")
        XCTAssertTrue(matches(f, ["route": "/api/"]))
        XCTAssertTrue(matches(f, ["route": "/api/v1/users/42"]))
        XCTAssertFalse(matches(f, ["route": "/api"]))
        XCTAssertFalse(matches(f, ["route": "/API/users"]))
        XCTAssertFalse(matches(f, ["route": "x/api/"]))
        XCTAssertFalse(matches(f, ["route": ""]))
        XCTAssertFalse(matches(f, ["route": .emptyStringWithoutStorage]))
        XCTAssertFalse(matches(f, [:]))
        XCTAssertFalse(matches(f, ["route": .null]))
        assertWrongType(f, ["route": 1], field: "route")
    }

    func testLongPrefixComparesEveryByte() {
        let f = FilterExpr.hasPrefix(field: "p", prefix: "0123456789abcdefX")
        XCTAssertTrue(matches(f, ["p": "0123456789abcdefX-tail"]))
        XCTAssertFalse(matches(f, ["p": "0123456789abcdefY-tail"]))
        XCTAssertFalse(matches(f, ["p": "0123456789abcdeX-tail"]))
    }

    func testEmptyPrefixMatchesEveryString() {
        let f = FilterExpr.hasPrefix(field: "route", prefix: "")
        XCTAssertTrue(matches(f, ["route": "x"]))
        XCTAssertTrue(matches(f, ["route": ""]))
        XCTAssertTrue(matches(f, ["route": .emptyStringWithoutStorage]))
    }

    // MARK: and / or / not

    func testAndOrNotTruthTables() {
        let a = FilterExpr.exists(field: "a"), b = FilterExpr.exists(field: "b")
        for hasA in [false, true] {
            for hasB in [false, true] {
                var fields: [String: JSON] = [:]
                if hasA { fields["a"] = 1 }
                if hasB { fields["b"] = 1 }
                XCTAssertEqual(matches(.and(a, b), fields), hasA && hasB, "\(fields)")
                XCTAssertEqual(matches(.or(a, b), fields), hasA || hasB, "\(fields)")
                XCTAssertEqual(matches(.not(.and(a, b)), fields), !(hasA && hasB), "\(fields)")
                XCTAssertEqual(matches(.or(.not(a), b), fields), !hasA || hasB, "\(fields)")
            }
        }
    }

    func testCompoundFilterOnRealisticEvents() {
        // status >= 500 and route != "/health" and not prefix(route, "/internal/")
        let f = FilterExpr.and(
            .and(cmp("status", .greaterOrEqual, .number(500)), cmp("route", .notEqual, .string("/health"))),
            .not(.hasPrefix(field: "route", prefix: "/internal/")))
        XCTAssertTrue(matches(f, ["status": 503, "route": "/api/a"]))
        XCTAssertTrue(matches(f, ["status": 500]))
        XCTAssertFalse(matches(f, ["status": 200, "route": "/api/a"]))
        XCTAssertFalse(matches(f, ["status": 503, "route": "/health"]))
        XCTAssertFalse(matches(f, ["status": 503, "route": "/internal/x"]))
        XCTAssertFalse(matches(f, ["route": "/api/a"]))
    }

    func testNotOfAComparisonOnAnAbsentFieldMatches() {
        XCTAssertTrue(matches(.not(cmp("x", .equal, .number(5))), [:]))
        XCTAssertFalse(matches(.not(.exists(field: "x")), ["x": 5]))
    }

    func testTypeErrorsPropagateThroughNotAndAnd() {
        let bad = cmp("status", .greater, .number(1)) // status is a string below
        let yes = FilterExpr.exists(field: "route")
        let fields: [String: JSON] = ["status": "500", "route": "/a"]
        assertWrongType(.not(bad), fields, field: "status")
        assertWrongType(.and(yes, bad), fields, field: "status")
        assertWrongType(.and(bad, yes), fields, field: "status")
    }

    func testOrMatchesWhenOneSideMatchesDespiteATypeErrorOnTheOther() {
        let bad = cmp("status", .greater, .number(1))
        let yes = FilterExpr.exists(field: "route")
        let no = FilterExpr.exists(field: "missing")
        let fields: [String: JSON] = ["status": "500", "route": "/a"]
        XCTAssertEqual(outcome(.or(bad, yes), fields), .match)
        XCTAssertEqual(outcome(.or(yes, bad), fields), .match)
        assertWrongType(.or(bad, no), fields, field: "status")
        assertWrongType(.or(no, bad), fields, field: "status")
    }

    func testFilterFieldsAreListedOnceInOrderOfFirstUse() {
        let f = FilterExpr.or(.and(cmp("b", .equal, .number(1)), .exists(field: "a")), .not(.hasPrefix(field: "b", prefix: "x")))
        XCTAssertEqual(f.fields, ["b", "a"])
    }

    // MARK: Through the engine

    func testFilterTypeErrorRejectsTheEventForThatMetricOnly() {
        let e = makeEngine([
            MetricDefinition(name: "errors", events: ["http"], filter: cmp("status", .greaterOrEqual, .number(500)),
                             aggregate: .count, windows: [.minute]),
            MetricDefinition(name: "requests", events: ["http"], aggregate: .count, windows: [.minute]),
        ])
        let o = ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["status": "500"])
        XCTAssertEqual(o.firstRejectMetric, 0)
        XCTAssertEqual(o.rejectReason, .wrongFieldType)
        XCTAssertEqual(e.metricRejects[0], [.wrongFieldType: 1])
        XCTAssertEqual(e.metricRejects[1], [:])
        XCTAssertEqual(e.eventsCounted, 1)
        XCTAssertEqual(e.flush().rows.map(\.metric), ["requests"])
    }

    func testEventsTheFilterDoesNotMatchAreNeitherCountedNorRejected() {
        let e = makeEngine([
            MetricDefinition(name: "errors", events: ["http"], filter: cmp("status", .greaterOrEqual, .number(500)),
                             aggregate: .count, windows: [.minute]),
        ])
        let o1 = ingest(e, "http", at: ms("2026-05-10T12:00:10Z"), ["status": 200])
        let o2 = ingest(e, "http", at: ms("2026-05-10T12:00:11Z"), [:])
        ingest(e, "http", at: ms("2026-05-10T12:00:12Z"), ["status": 500])
        ingest(e, "http", at: ms("2026-05-10T12:00:13Z"), ["status": 504])
        XCTAssertEqual(o1.updates, 0)
        XCTAssertEqual(o2.updates, 0)
        XCTAssertNil(o1.rejectReason)
        XCTAssertNil(o2.rejectReason)
        XCTAssertEqual(e.metricRejects[0], [:])
        XCTAssertEqual(e.eventsCounted, 2)
        XCTAssertEqual(e.flush().rows.map(\.samples), [2])
    }

    func testFilteredOutEventsStillAdvanceTheWatermark() {
        let e = makeEngine([
            MetricDefinition(name: "errors", events: ["http"], filter: cmp("status", .greaterOrEqual, .number(500)),
                             aggregate: .count, windows: [.minute]),
        ])
        ingest(e, "http", at: ms("2026-05-10T12:10:00Z"), ["status": 200])
        XCTAssertEqual(e.watermark, ms("2026-05-10T12:09:00Z"))
    }
}
