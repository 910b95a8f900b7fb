import KPICore
import XCTest

final class FilterParserTests: XCTestCase {
    private func parse(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> FilterExpr? {
        do {
            return try FilterParser.parse(text)
        } catch {
            XCTFail("\(text): \(error)", file: file, line: line)
            return nil
        }
    }

    private func parseError(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> FilterParseError? {
        do {
            let e = try FilterParser.parse(text)
            XCTFail("\(text) parsed as \(e)", file: file, line: line)
            return nil
        } catch {
            return error
        }
    }

    private let a = FilterExpr.compare(field: "a", op: .equal, value: .number(1))
    private let b = FilterExpr.compare(field: "b", op: .equal, value: .number(2))
    private let c = FilterExpr.compare(field: "c", op: .equal, value: .number(3))

    func testComparisonWithEachOperator() {
        XCTAssertEqual(parse("status >= 500"), .compare(field: "status", op: .greaterOrEqual, value: .number(500)))
        XCTAssertEqual(parse("status>500"), .compare(field: "status", op: .greater, value: .number(500)))
        XCTAssertEqual(parse("x < 1"), .compare(field: "x", op: .less, value: .number(1)))
        XCTAssertEqual(parse("x <= 1"), .compare(field: "x", op: .lessOrEqual, value: .number(1)))
        XCTAssertEqual(parse("x = 1"), .compare(field: "x", op: .equal, value: .number(1)))
        XCTAssertEqual(parse("x == 1"), .compare(field: "x", op: .equal, value: .number(1)))
        XCTAssertEqual(parse("x != 1"), .compare(field: "x", op: .notEqual, value: .number(1)))
    }

    func testAndBindsTighterThanOr() {
        XCTAssertEqual(parse("a = 1 or b = 2 and c = 3"), .or(a, .and(b, c)))
        XCTAssertEqual(parse("a = 1 and b = 2 or c = 3"), .or(.and(a, b), c))
    }

    func testAndAndOrAreLeftAssociative() {
        XCTAssertEqual(parse("a = 1 and b = 2 and c = 3"), .and(.and(a, b), c))
        XCTAssertEqual(parse("a = 1 or b = 2 or c = 3"), .or(.or(a, b), c))
    }

    func testNotBindsTighterThanAnd() {
        XCTAssertEqual(parse("not a = 1 and b = 2"), .and(.not(a), b))
        XCTAssertEqual(parse("not not a = 1"), .not(.not(a)))
    }

    func testParenthesesOverridePrecedence() {
        XCTAssertEqual(parse("(a = 1 or b = 2) and c = 3"), .and(.or(a, b), c))
        XCTAssertEqual(parse("not (a = 1 or b = 2)"), .not(.or(a, b)))
        XCTAssertEqual(parse("((a = 1))"), a)
    }

    func testKeywordsAreCaseInsensitive() {
        XCTAssertEqual(parse("a = 1 AND b = 2 Or NOT c = 3"), .or(.and(a, b), .not(c)))
        XCTAssertEqual(parse("EXISTS(user) and PREFIX(route, \"/a\")"),
                       .and(.exists(field: "user"), .hasPrefix(field: "route", prefix: "/a")))
        XCTAssertEqual(parse("x IN [TRUE, False, NULL]"), .oneOf(field: "x", values: [.bool(true), .bool(false), .null]))
    }

    func testInList() {
        XCTAssertEqual(parse("tenant in [\"a\", 'b', 3]"),
                       .oneOf(field: "tenant", values: [.string("a"), .string("b"), .number(3)]))
        XCTAssertEqual(parse("tenant in [\"a\"]"), .oneOf(field: "tenant", values: [.string("a")]))
    }

    func testExistsAndPrefix() {
        XCTAssertEqual(parse("exists(user.id)"), .exists(field: "user.id"))
        XCTAssertEqual(parse("not exists ( bot )"), .not(.exists(field: "bot")))
        XCTAssertEqual(parse("prefix(route, \"/api/\")"), .hasPrefix(field: "route", prefix: "/api/"))
        XCTAssertEqual(parse("prefix(route,'/api/')"), .hasPrefix(field: "route", prefix: "/api/"))
    }

    func testExistsAndPrefixAreFieldNamesWhenNotCalled() {
        XCTAssertEqual(parse("exists = true"), .compare(field: "exists", op: .equal, value: .bool(true)))
        XCTAssertEqual(parse("prefix != \"x\""), .compare(field: "prefix", op: .notEqual, value: .string("x")))
    }

    func testNumbers() {
        XCTAssertEqual(parse("x = -5"), .compare(field: "x", op: .equal, value: .number(-5)))
        XCTAssertEqual(parse("x = 0.25"), .compare(field: "x", op: .equal, value: .number(0.25)))
        XCTAssertEqual(parse("x = 1e3"), .compare(field: "x", op: .equal, value: .number(1000)))
        XCTAssertEqual(parse("x = -2.5E-2"), .compare(field: "x", op: .equal, value: .number(-0.025)))
        XCTAssertEqual(parse("x = +7"), .compare(field: "x", op: .equal, value: .number(7)))
        XCTAssertEqual(parse("x=-1"), .compare(field: "x", op: .equal, value: .number(-1)))
    }

    func testStringsBooleansAndNull() {
        XCTAssertEqual(parse("x = \"a b\""), .compare(field: "x", op: .equal, value: .string("a b")))
        XCTAssertEqual(parse("x = 'a b'"), .compare(field: "x", op: .equal, value: .string("a b")))
        XCTAssertEqual(parse("x = \"\""), .compare(field: "x", op: .equal, value: .string("")))
        XCTAssertEqual(parse("x = true"), .compare(field: "x", op: .equal, value: .bool(true)))
        XCTAssertEqual(parse("x != false"), .compare(field: "x", op: .notEqual, value: .bool(false)))
        XCTAssertEqual(parse("x = null"), .compare(field: "x", op: .equal, value: .null))
        XCTAssertEqual(parse("x < \"m\""), .compare(field: "x", op: .less, value: .string("m")))
    }

    func testEscapesInDoubleQuotedStrings() {
        XCTAssertEqual(parse(#"x = "a\"b\\c\nd\te\u00e9\/""#),
                       .compare(field: "x", op: .equal, value: .string("a\"b\\c\nd\te\u{e9}/")))
    }

    func testSingleQuotedStringsAreLiteral() {
        XCTAssertEqual(parse(#"x = 'C:\temp\n'"#), .compare(field: "x", op: .equal, value: .string(#"C:\temp\n"#)))
        XCTAssertEqual(parse(#"x = '"quoted"'"#), .compare(field: "x", op: .equal, value: .string("\"quoted\"")))
    }

    func testFieldNames() {
        XCTAssertEqual(parse("http.status = 1"), .compare(field: "http.status", op: .equal, value: .number(1)))
        XCTAssertEqual(parse("user_agent = 1"), .compare(field: "user_agent", op: .equal, value: .number(1)))
        XCTAssertEqual(parse("x-request-id = 1"), .compare(field: "x-request-id", op: .equal, value: .number(1)))
        XCTAssertEqual(parse("_a1 = 1"), .compare(field: "_a1", op: .equal, value: .number(1)))
        XCTAssertEqual(parse("`odd name` = 1"), .compare(field: "odd name", op: .equal, value: .number(1)))
        XCTAssertEqual(parse("`and` = 1"), .compare(field: "and", op: .equal, value: .number(1)))
        XCTAssertEqual(parse("`a``b` = 1"), .compare(field: "a`b", op: .equal, value: .number(1)))
        XCTAssertEqual(parse("`2xx` in [1]"), .oneOf(field: "2xx", values: [.number(1)]))
        XCTAssertEqual(parse("exists(`odd name`)"), .exists(field: "odd name"))
    }

    func testMissingLiteralNamesTheOperatorAndColumn() {
        let e = parseError("status >= and x = 1")
        XCTAssertEqual(e?.message, "expected a literal after '>='")
        XCTAssertEqual(e?.column, 11)
        XCTAssertEqual(e?.description, "expected a literal after '>=' at column 11")
        XCTAssertEqual(parseError("status >=")?.description, "expected a literal after '>=' at column 10")
    }

    func testErrorsCarryColumns() {
        let cases: [(String, Int, String)] = [
            ("", 1, "empty filter"),
            ("status", 7, "expected an operator"),
            ("status 500", 8, "expected an operator"),
            ("a = 1 b = 2", 7, "expected 'and', 'or'"),
            ("(a = 1", 7, "expected ')' to close '(' from column 1"),
            ("a = 1)", 6, "unbalanced ')'"),
            ("a = \"open", 5, "unterminated string"),
            ("a = 'open", 5, "unterminated string"),
            ("a = \"\\q\"", 6, "invalid escape"),
            ("a in []", 7, "empty list"),
            ("a in [1,]", 9, "expected a literal in the list"),
            ("a in [1 2]", 9, "expected ',' or ']'"),
            ("a in 1", 6, "expected '['"),
            ("exists(a", 9, "expected ')'"),
            ("prefix(a)", 9, "expected ','"),
            ("prefix(a, 1)", 11, "expected a string"),
            ("a = 1 and", 10, "expected a condition"),
            ("a ! 1", 3, "unexpected '!'"),
            ("a = 1 & b = 2", 7, "unexpected character '&'"),
            ("a < true", 5, "'<' compares numbers or strings"),
            ("a >= null", 6, "'>=' compares numbers or strings"),
            ("a = 5x", 5, "invalid number"),
            ("a = 1e", 5, "invalid number"),
            ("and = 1", 1, "expected a field name"),
            ("not", 4, "expected a condition"),
            ("()", 2, "empty parentheses"),
            ("`` = 1", 1, "empty field name"),
            ("a = 1 or or", 10, "expected a field name"),
        ]
        for (text, column, message) in cases {
            guard let e = parseError(text) else { continue }
            XCTAssertEqual(e.column, column, "\(text): \(e)")
            XCTAssertTrue(e.message.hasPrefix(message), "\(text): \(e)")
        }
    }

    func testDescriptionPrintsMinimalParentheses() {
        XCTAssertEqual(parse("status >= 500 and not prefix(route, \"/health\")")?.description,
                       "status >= 500 and not prefix(route, \"/health\")")
        XCTAssertEqual(parse("(a = 1 or b = 2) and c = 3")?.description, "(a = 1 or b = 2) and c = 3")
        XCTAssertEqual(parse("a = 1 or (b = 2 and c = 3)")?.description, "a = 1 or b = 2 and c = 3")
        XCTAssertEqual(parse("a == 1 AND NOT (b = 2)")?.description, "a = 1 and not b = 2")
        XCTAssertEqual(parse("x in ['a', 2.5, -1, true, null]")?.description, "x in [\"a\", 2.5, -1, true, null]")
        XCTAssertEqual(FilterExpr.and(a, .and(b, c)).description, "a = 1 and (b = 2 and c = 3)")
        XCTAssertEqual(FilterExpr.not(.and(a, b)).description, "not (a = 1 and b = 2)")
    }

    func testDescriptionRoundTrips() throws {
        let exprs: [FilterExpr] = [
            .and(a, .and(b, c)), .or(a, .or(b, c)), .or(.or(a, b), c), .not(.not(.or(a, b))),
            .and(.or(a, b), .not(c)),
            .compare(field: "odd name", op: .greaterOrEqual, value: .number(1e20)),
            .compare(field: "in", op: .notEqual, value: .string("quote\" back\\ nl\n tab\t ctl\u{1} é")),
            .compare(field: "true", op: .equal, value: .bool(false)),
            .compare(field: "x", op: .less, value: .number(-0.000123)),
            .compare(field: "x", op: .less, value: .number(1.2345678901234568e17)),
            .oneOf(field: "a`b", values: [.string(""), .number(0), .null]),
            .exists(field: "exists"),
            .hasPrefix(field: "prefix", prefix: "/api/"),
            .hasPrefix(field: "9lives", prefix: "'"),
        ]
        for e in exprs {
            XCTAssertEqual(try FilterParser.parse(e.description), e, e.description)
        }
        let texts = [
            "status >= 500 and not prefix(route, \"/health\")",
            "retailer in [\"a\", \"b\"] or not exists(bot)",
            "not (a = 1 or b = 2) and (c = 3 or exists(d))",
        ]
        for t in texts {
            let e = try FilterParser.parse(t)
            XCTAssertEqual(try FilterParser.parse(e.description), e, t)
        }
    }

    func testFieldsListsEveryFieldRead() throws {
        XCTAssertEqual(try FilterParser.parse("a = 1 and (b in [1] or not exists(a)) and prefix(c, 'x')").fields,
                       ["a", "b", "c"])
    }
}

final class FilterParserRobustnessTests: XCTestCase {
    func testRandomTextEitherFailsWithAColumnOrRoundTrips() {
        let pieces = ["a", "b.c", " ", "and", "or", "not", "in", "exists", "prefix", "(", ")", "[", "]", ",", "=", "!=",
                      "<", ">=", "1", "-2.5", "1e3", "\"s\"", "'t'", "true", "null", "`q`", "\"", "\\", "é"]
        var rng = SystemRandomNumberGenerator()
        var parsed = 0
        for _ in 0..<5000 {
            let text = (0..<Int.random(in: 0..<12, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }
                .joined(separator: Bool.random(using: &rng) ? " " : "")
            do {
                let e = try FilterParser.parse(text)
                parsed += 1
                XCTAssertEqual(try? FilterParser.parse(e.description), e, "\(text) -> \(e.description)")
            } catch {
                XCTAssertTrue(error.column >= 1 && error.column <= text.count + 1, "\(text): \(error)")
            }
        }
        XCTAssertGreaterThan(parsed, 0)
    }
}
