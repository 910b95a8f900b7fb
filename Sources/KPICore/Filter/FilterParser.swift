/// A filter that does not parse: what was expected, and the 1-based column (in characters)
/// where the parser stopped.
public struct FilterParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, without the position: `expected a literal after '>='`.
    public var message: String
    /// 1-based column of the offending character; one past the end when the text ended too early.
    public var column: Int

    public init(message: String, column: Int) {
        self.message = message
        self.column = column
    }

    /// `expected a literal after '>=' at column 12`.
    public var description: String { "\(message) at column \(column)" }
}

/// Parses the filter language of `kpid.toml`:
///
///     expr    := or
///     or      := and ("or" and)*
///     and     := unary ("and" unary)*
///     unary   := "not" unary | primary
///     primary := "(" expr ")"
///              | "exists" "(" field ")"
///              | "prefix" "(" field "," string ")"
///              | field op literal
///              | field "in" "[" literal ("," literal)* "]"
///     op      := "=" | "==" | "!=" | "<" | "<=" | ">" | ">="
///     literal := "double-quoted" | 'single-quoted' | number | true | false | null
///     field   := name of letters, digits, "_", "." and "-" starting with a letter or "_",
///                or any text between backticks (a backtick inside is written twice)
///
/// Keywords (`and or not in exists prefix true false null`) are case-insensitive. Double-quoted
/// strings take the escapes `\" \\ \/ \n \t \r \b \f \uXXXX`; single-quoted strings are
/// literal, as in TOML. Numbers are decimal with an optional sign, fraction and exponent.
/// The ordering operators (`< <= > >=`) take a number or a string, not `true`, `false` or `null`.
public enum FilterParser {
    public static func parse(_ text: String) throws(FilterParseError) -> FilterExpr {
        var lexer = FilterLexer(Array(text))
        let tokens = try lexer.tokenize()
        var parser = FilterTokenParser(tokens: tokens)
        return try parser.parseAll()
    }
}

// MARK: - Tokens

fileprivate enum FilterToken: Equatable {
    case word(String)            // bare identifier or keyword
    case quotedField(String)     // `backticked`
    case string(String)
    case number(Double, text: String)
    case op(ComparisonOperator, text: String)
    case lparen, rparen, lbracket, rbracket, comma
    case end

    /// How the token reads in an error message.
    var display: String {
        switch self {
        case .word(let w): return "'\(w)'"
        case .quotedField(let f): return "'`\(f)`'"
        case .string: return "a string"
        case .number(_, let text): return "'\(text)'"
        case .op(_, let text): return "'\(text)'"
        case .lparen: return "'('"
        case .rparen: return "')'"
        case .lbracket: return "'['"
        case .rbracket: return "']'"
        case .comma: return "','"
        case .end: return "the end of the filter"
        }
    }

    /// The lowercased keyword, when the token is a bare word.
    var keyword: String? {
        if case .word(let w) = self { return w.lowercased() }
        return nil
    }
}

fileprivate struct PositionedToken {
    var token: FilterToken
    var column: Int
}

// MARK: - Lexer

fileprivate struct FilterLexer {
    let chars: [Character]
    var i = 0

    init(_ chars: [Character]) { self.chars = chars }

    static func isFieldStart(_ c: Character) -> Bool {
        c == "_" || c.isLetter
    }

    static func isFieldChar(_ c: Character) -> Bool {
        c == "_" || c == "." || c == "-" || c.isLetter || c.isNumber
    }

    static func isDigit(_ c: Character) -> Bool {
        c.isASCII && c.isNumber
    }

    func error(_ message: String, at index: Int) -> FilterParseError {
        FilterParseError(message: message, column: index + 1)
    }

    mutating func tokenize() throws(FilterParseError) -> [PositionedToken] {
        var out: [PositionedToken] = []
        while true {
            while i < chars.count, chars[i].isWhitespace { i += 1 }
            let start = i
            guard i < chars.count else {
                out.append(PositionedToken(token: .end, column: start + 1))
                return out
            }
            let c = chars[i]
            let token: FilterToken
            switch c {
            case "(": i += 1; token = .lparen
            case ")": i += 1; token = .rparen
            case "[": i += 1; token = .lbracket
            case "]": i += 1; token = .rbracket
            case ",": i += 1; token = .comma
            case "=":
                if peek(1) == "=" { i += 2; token = .op(.equal, text: "==") } else { i += 1; token = .op(.equal, text: "=") }
            case "!":
                guard peek(1) == "=" else { throw error("unexpected '!' (did you mean '!=' or 'not'?)", at: i) }
                i += 2; token = .op(.notEqual, text: "!=")
            case "<":
                if peek(1) == "=" { i += 2; token = .op(.lessOrEqual, text: "<=") }
                else if peek(1) == ">" { throw error("unexpected '<>' (write '!=')", at: i) }
                else { i += 1; token = .op(.less, text: "<") }
            case ">":
                if peek(1) == "=" { i += 2; token = .op(.greaterOrEqual, text: ">=") } else { i += 1; token = .op(.greater, text: ">") }
            case "\"": token = .string(try lexDoubleQuoted())
            case "'": token = .string(try lexSingleQuoted())
            case "`": token = .quotedField(try lexBacktick())
            default:
                if Self.isDigit(c) || ((c == "-" || c == "+") && peek(1).map(Self.isDigit) == true)
                    || ((c == "-" || c == "+") && peek(1) == "." && peek(2).map(Self.isDigit) == true)
                    || (c == "." && peek(1).map(Self.isDigit) == true) {
                    token = try lexNumber()
                } else if Self.isFieldStart(c) {
                    var word = ""
                    while i < chars.count, Self.isFieldChar(chars[i]) { word.append(chars[i]); i += 1 }
                    token = .word(word)
                } else {
                    throw error("unexpected character '\(c)'", at: i)
                }
            }
            out.append(PositionedToken(token: token, column: start + 1))
        }
    }

    func peek(_ offset: Int) -> Character? {
        i + offset < chars.count ? chars[i + offset] : nil
    }

    mutating func lexNumber() throws(FilterParseError) -> FilterToken {
        let start = i
        if chars[i] == "-" || chars[i] == "+" { i += 1 }
        var digits = 0
        while i < chars.count, Self.isDigit(chars[i]) { i += 1; digits += 1 }
        if i < chars.count, chars[i] == "." {
            i += 1
            while i < chars.count, Self.isDigit(chars[i]) { i += 1; digits += 1 }
        }
        if digits == 0 { throw error("invalid number", at: start) }
        if i < chars.count, chars[i] == "e" || chars[i] == "E" {
            i += 1
            if i < chars.count, chars[i] == "+" || chars[i] == "-" { i += 1 }
            var expDigits = 0
            while i < chars.count, Self.isDigit(chars[i]) { i += 1; expDigits += 1 }
            if expDigits == 0 { throw error("invalid number '\(String(chars[start..<i]))': the exponent has no digits", at: start) }
        }
        let text = String(chars[start..<i])
        if i < chars.count, Self.isFieldChar(chars[i]) {
            var j = i
            while j < chars.count, Self.isFieldChar(chars[j]) { j += 1 }
            throw error("invalid number '\(String(chars[start..<j]))' (a field name must start with a letter or '_', or be quoted with backticks)", at: start)
        }
        guard let value = Double(text), value.isFinite else {
            throw error("number '\(text)' is out of range", at: start)
        }
        return .number(value, text: text)
    }

    mutating func lexDoubleQuoted() throws(FilterParseError) -> String {
        let start = i
        i += 1
        var out = ""
        while i < chars.count {
            let c = chars[i]
            if c == "\"" { i += 1; return out }
            if c == "\\" {
                guard i + 1 < chars.count else { break }
                let e = chars[i + 1]
                switch e {
                case "\"": out.append("\"")
                case "\\": out.append("\\")
                case "/": out.append("/")
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "b": out.append("\u{08}")
                case "f": out.append("\u{0C}")
                case "u":
                    var hex = ""
                    var j = i + 2
                    while j < chars.count, hex.count < 4, chars[j].isHexDigit { hex.append(chars[j]); j += 1 }
                    guard hex.count == 4, let v = UInt32(hex, radix: 16), let scalar = Unicode.Scalar(v) else {
                        throw error("invalid escape '\\u\(hex)' (write \\u followed by 4 hex digits)", at: i)
                    }
                    out.unicodeScalars.append(scalar)
                    i = j
                    continue
                default:
                    throw error("invalid escape '\\\(e)' in string", at: i)
                }
                i += 2
                continue
            }
            out.append(c)
            i += 1
        }
        throw error("unterminated string (missing closing '\"')", at: start)
    }

    mutating func lexSingleQuoted() throws(FilterParseError) -> String {
        let start = i
        i += 1
        var out = ""
        while i < chars.count {
            if chars[i] == "'" { i += 1; return out }
            out.append(chars[i])
            i += 1
        }
        throw error("unterminated string (missing closing \"'\")", at: start)
    }

    mutating func lexBacktick() throws(FilterParseError) -> String {
        let start = i
        i += 1
        var out = ""
        while i < chars.count {
            if chars[i] == "`" {
                if peek(1) == "`" { out.append("`"); i += 2; continue }
                i += 1
                if out.isEmpty { throw error("empty field name", at: start) }
                return out
            }
            out.append(chars[i])
            i += 1
        }
        throw error("unterminated field name (missing closing '`')", at: start)
    }
}

// MARK: - Parser

fileprivate struct FilterTokenParser {
    let tokens: [PositionedToken]
    var p = 0

    init(tokens: [PositionedToken]) { self.tokens = tokens }

    var current: PositionedToken { tokens[p] }

    mutating func advance() { if p < tokens.count - 1 { p += 1 } }

    func error(_ message: String, _ token: PositionedToken? = nil) -> FilterParseError {
        FilterParseError(message: message, column: (token ?? current).column)
    }

    func isKeyword(_ k: String) -> Bool { current.token.keyword == k }

    mutating func parseAll() throws(FilterParseError) -> FilterExpr {
        if current.token == .end { throw error("empty filter") }
        let e = try parseOr()
        switch current.token {
        case .end: return e
        case .rparen: throw error("unbalanced ')'")
        default: throw error("expected 'and', 'or' or the end of the filter, found \(current.token.display)")
        }
    }

    mutating func parseOr() throws(FilterParseError) -> FilterExpr {
        var left = try parseAnd()
        while isKeyword("or") {
            advance()
            let right = try parseAnd()
            left = .or(left, right)
        }
        return left
    }

    mutating func parseAnd() throws(FilterParseError) -> FilterExpr {
        var left = try parseUnary()
        while isKeyword("and") {
            advance()
            let right = try parseUnary()
            left = .and(left, right)
        }
        return left
    }

    mutating func parseUnary() throws(FilterParseError) -> FilterExpr {
        if isKeyword("not") {
            advance()
            return .not(try parseUnary())
        }
        return try parsePrimary()
    }

    static let reserved: Set<String> = ["and", "or", "not", "in"]

    mutating func parsePrimary() throws(FilterParseError) -> FilterExpr {
        let start = current
        switch start.token {
        case .lparen:
            advance()
            if current.token == .rparen { throw error("empty parentheses") }
            let e = try parseOr()
            guard current.token == .rparen else {
                throw error("expected ')' to close '(' from column \(start.column), found \(current.token.display)")
            }
            advance()
            return e
        case .word(let w) where (w.lowercased() == "exists" || w.lowercased() == "prefix") && tokens[p + 1].token == .lparen:
            let fn = w.lowercased()
            advance()
            advance()
            let field = try parseField(context: "in \(fn)(...)")
            if fn == "exists" {
                guard current.token == .rparen else {
                    throw error("expected ')' after the field of exists(...), found \(current.token.display)")
                }
                advance()
                return .exists(field: field)
            }
            guard current.token == .comma else {
                throw error("expected ',' after the field of prefix(...), found \(current.token.display)")
            }
            advance()
            guard case .string(let text) = current.token else {
                throw error("expected a string as the second argument of prefix(...), found \(current.token.display)")
            }
            advance()
            guard current.token == .rparen else {
                throw error("expected ')' to close prefix(...), found \(current.token.display)")
            }
            advance()
            return .hasPrefix(field: field, prefix: text)
        case .word, .quotedField:
            let fieldToken = current
            let field = try parseField(context: "")
            return try parseComparison(field: field, fieldToken: fieldToken)
        case .end:
            throw error("expected a condition, found the end of the filter")
        default:
            throw error("expected a condition (a field, not, exists(...), prefix(...) or '('), found \(start.token.display)")
        }
    }

    mutating func parseField(context: String) throws(FilterParseError) -> String {
        switch current.token {
        case .quotedField(let f):
            advance()
            return f
        case .word(let w):
            if Self.reserved.contains(w.lowercased()) {
                throw error("expected a field name\(context.isEmpty ? "" : " " + context), found the keyword '\(w)' (quote the field with backticks: `\(w)`)")
            }
            advance()
            return w
        default:
            throw error("expected a field name\(context.isEmpty ? "" : " " + context), found \(current.token.display)")
        }
    }

    mutating func parseComparison(field: String, fieldToken: PositionedToken) throws(FilterParseError) -> FilterExpr {
        if isKeyword("in") {
            advance()
            guard current.token == .lbracket else {
                throw error("expected '[' after 'in', found \(current.token.display)")
            }
            let open = current
            advance()
            var values: [FilterLiteral] = []
            if current.token == .rbracket { throw error("empty list after 'in'") }
            while true {
                guard let lit = literal(current.token) else {
                    throw error("expected a literal in the list, found \(current.token.display)")
                }
                values.append(lit)
                advance()
                if current.token == .comma {
                    advance()
                    continue
                }
                if current.token == .rbracket {
                    advance()
                    break
                }
                throw error("expected ',' or ']' to close the list from column \(open.column), found \(current.token.display)")
            }
            return .oneOf(field: field, values: values)
        }
        guard case .op(let op, let opText) = current.token else {
            if current.token == .end {
                throw error("expected an operator (=, !=, <, <=, >, >=, in) after '\(field)'")
            }
            throw error("expected an operator (=, !=, <, <=, >, >=, in) after '\(field)', found \(current.token.display)")
        }
        advance()
        guard let value = literal(current.token) else {
            throw error("expected a literal after '\(opText)'")
        }
        switch (op, value) {
        case (.less, .bool), (.less, .null), (.lessOrEqual, .bool), (.lessOrEqual, .null),
             (.greater, .bool), (.greater, .null), (.greaterOrEqual, .bool), (.greaterOrEqual, .null):
            throw error("'\(opText)' compares numbers or strings, not \(value == .null ? "null" : "booleans")")
        default: break
        }
        advance()
        return .compare(field: field, op: op, value: value)
    }

    func literal(_ token: FilterToken) -> FilterLiteral? {
        switch token {
        case .string(let s): return .string(s)
        case .number(let d, _): return .number(d)
        case .word(let w):
            switch w.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null": return .null
            default: return nil
            }
        default: return nil
        }
    }
}

// MARK: - Printing

extension FilterLiteral: CustomStringConvertible {
    /// The literal as the filter language writes it; ``FilterParser`` reads it back.
    public var description: String {
        switch self {
        case .string(let s): return FilterExpr.quote(s)
        case .number(let d): return FilterExpr.formatNumber(d)
        case .bool(let b): return b ? "true" : "false"
        case .null: return "null"
        }
    }
}

extension FilterExpr: CustomStringConvertible {
    /// The expression in the filter language, with only the parentheses it needs:
    /// `FilterParser.parse(e.description) == e` for every expression the parser can produce.
    public var description: String { render(level: 0) }

    /// 0: or, 1: and, 2: not, 3: primary.
    private var level: Int {
        switch self {
        case .or: return 0
        case .and: return 1
        case .not: return 2
        default: return 3
        }
    }

    private func render(level context: Int) -> String {
        let text: String
        switch self {
        case .compare(let f, let op, let v):
            text = "\(Self.formatField(f)) \(op.rawValue) \(v)"
        case .oneOf(let f, let values):
            text = "\(Self.formatField(f)) in [\(values.map(\.description).joined(separator: ", "))]"
        case .exists(let f):
            text = "exists(\(Self.formatField(f)))"
        case .hasPrefix(let f, let prefix):
            text = "prefix(\(Self.formatField(f)), \(Self.quote(prefix)))"
        case .or(let a, let b):
            // Left-associative: a right operand of the same level needs parentheses.
            text = "\(a.render(level: 0)) or \(b.render(level: 1))"
        case .and(let a, let b):
            text = "\(a.render(level: 1)) and \(b.render(level: 2))"
        case .not(let a):
            text = "not \(a.render(level: 2))"
        }
        return level < context ? "(\(text))" : text
    }

    private static let keywords: Set<String> = ["and", "or", "not", "in", "exists", "prefix", "true", "false", "null"]

    /// A field name as written in a filter: bare when it can be, else between backticks.
    public static func formatField(_ name: String) -> String {
        let chars = Array(name)
        let bare = !chars.isEmpty && FilterLexer.isFieldStart(chars[0]) && chars.allSatisfy(FilterLexer.isFieldChar)
            && !keywords.contains(name.lowercased())
        if bare { return name }
        var out = "`"
        for c in name {
            out.append(c)
            if c == "`" { out.append("`") }
        }
        return out + "`"
    }

    /// A double-quoted filter string literal: the same escaping as JSON strings.
    fileprivate static func quote(_ s: String) -> String { CanonicalLabels.quote(s) }

    fileprivate static func formatNumber(_ d: Double) -> String {
        if d == d.rounded(), abs(d) < 1e15 {
            if d == 0 && d.sign == .minus { return "-0" }
            return String(Int64(d))
        }
        return "\(d)"  // shortest representation that reads back exactly, e.g. 1.5, 1e+20
    }
}
