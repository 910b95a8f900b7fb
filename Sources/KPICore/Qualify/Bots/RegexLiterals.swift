/// What a literal prefilter may know about one regular expression, read off its text.
///
/// - `exact`: the pattern matches exactly these byte strings (plus the anchors) and nothing
///   else, so finding one of them in a user agent *is* a match: no regex runs.
/// - `required`: every match contains one of these (ASCII lower-cased) strings, so a regex
///   runs only when the prefilter has seen one of them.
/// - neither: the pattern goes to the small always-verified list.
///
/// The analysis is conservative: whatever it does not understand (back-references, `\p{..}`,
/// inline flags, nested classes) gives up on the whole pattern rather than risk missing a
/// match. It understands the syntax that user-agent lists use: literals and escapes, `.`,
/// `\d \s \w \b` and friends, character classes, groups, alternation, `? * + {m,n}` (greedy,
/// lazy, possessive), lookaround, and `^`/`$`.
public struct RegexLiterals: Sendable, Equatable {
    /// The strings of an exact pattern, as written (case kept for case-sensitive patterns,
    /// lower-cased for case-insensitive ones). Never contains the empty string.
    public var exact: [[UInt8]]?
    /// `^` at the very start / `$` at the very end of an exact pattern.
    public var anchoredStart = false
    public var anchoredEnd = false
    /// Lower-cased strings one of which is in every match; empty when none is known.
    public var required: [[UInt8]] = []

    /// Largest set a node may expand to before the analysis stops enumerating it.
    static let maxSetSize = 64
    static let maxStringLength = 128

    public init(exact: [[UInt8]]? = nil, anchoredStart: Bool = false, anchoredEnd: Bool = false, required: [[UInt8]] = []) {
        self.exact = exact
        self.anchoredStart = anchoredStart
        self.anchoredEnd = anchoredEnd
        self.required = required
    }

    /// Analyses `pattern`; `caseInsensitive` folds ASCII letters, as the matcher's automaton does.
    public init(pattern: String, caseInsensitive: Bool) {
        var bytes = Array(pattern.utf8)
        var anchoredStart = false, anchoredEnd = false
        if bytes.first == UInt8(ascii: "^") {
            anchoredStart = true
            bytes.removeFirst()
        }
        if bytes.last == UInt8(ascii: "$"), !Self.isEscaped(bytes, at: bytes.count - 1) {
            anchoredEnd = true
            bytes.removeLast()
        }
        var parser = Parser(bytes: bytes, caseInsensitive: caseInsensitive)
        guard let node = parser.parseAlternation(), parser.atEnd else {
            self.init()
            return
        }
        let fold: ([UInt8]) -> [UInt8] = { $0.map(asciiLower) }
        let anchorsKnown = !parser.topLevelAlternation || (!anchoredStart && !anchoredEnd)
        if anchorsKnown, !node.zeroWidth, let exact = node.exact, !exact.isEmpty, !exact.contains(where: \.isEmpty) {
            let list = exact.sorted { $0.lexicographicallyPrecedes($1) }
            // A case-insensitive literal with non-ASCII bytes could match other Unicode case
            // forms that the byte automaton does not fold: leave those to a regex.
            if !caseInsensitive || !list.contains(where: { $0.contains { $0 >= 0x80 } }) {
                self.init(exact: caseInsensitive ? list.map(fold) : list,
                          anchoredStart: anchoredStart, anchoredEnd: anchoredEnd,
                          required: Array(Set(list.map(fold))).sorted { $0.lexicographicallyPrecedes($1) })
                return
            }
        }
        var required: [[UInt8]] = []
        if let req = node.requirement, !req.isEmpty, !req.contains(where: \.isEmpty),
           !(caseInsensitive && req.contains(where: { $0.contains { $0 >= 0x80 } })) {
            required = Array(Set(req.map(fold))).sorted { $0.lexicographicallyPrecedes($1) }
        }
        self.init(required: required)
    }

    static func isEscaped(_ b: [UInt8], at i: Int) -> Bool {
        var n = 0
        var j = i - 1
        while j >= 0, b[j] == UInt8(ascii: "\\") {
            n += 1
            j -= 1
        }
        return n % 2 == 1
    }
}

@inline(__always)
func asciiLower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

/// What the analysis knows about one sub-expression.
private struct Node {
    /// Finite language of the node; nil when unknown or too large.
    var exact: Set<[UInt8]>?
    /// Strings one of which occurs in every match; nil when none is known.
    var required: Set<[UInt8]>?
    /// Contains `\b`, lookaround or an anchor: its matches are not just its strings.
    var zeroWidth = false

    /// The best requirement: the language itself when it is finite.
    var requirement: Set<[UInt8]>? {
        if !zeroWidth, let exact, !exact.contains(where: \.isEmpty) { return exact }
        return required
    }

    static let any = Node(exact: nil, required: nil)
    static let empty = Node(exact: [[]], required: nil)
    static let assertion = Node(exact: [[]], required: nil, zeroWidth: true)
}

/// Higher is better: longer shortest string first, then fewer strings.
private func score(_ s: Set<[UInt8]>) -> (Int, Int) {
    (s.map(\.count).min() ?? 0, -s.count)
}

private func better(_ a: Set<[UInt8]>?, _ b: Set<[UInt8]>?) -> Set<[UInt8]>? {
    guard let a, !a.contains(where: \.isEmpty) else { return b }
    guard let b, !b.contains(where: \.isEmpty) else { return a }
    return score(b) > score(a) ? b : a
}

private func product(_ a: Set<[UInt8]>, _ b: Set<[UInt8]>) -> Set<[UInt8]>? {
    if a.count * b.count > RegexLiterals.maxSetSize { return nil }
    var out = Set<[UInt8]>()
    for x in a {
        for y in b {
            if x.count + y.count > RegexLiterals.maxStringLength { return nil }
            out.insert(x + y)
        }
    }
    return out
}

/// Recursive descent over the pattern's bytes. Returns nil for syntax it does not know.
private struct Parser {
    let b: [UInt8]
    let caseInsensitive: Bool
    var i = 0
    var depth = 0
    /// A `|` outside any group: a leading `^` or trailing `$` then belongs to one branch only.
    var topLevelAlternation = false

    init(bytes: [UInt8], caseInsensitive: Bool) {
        self.b = bytes
        self.caseInsensitive = caseInsensitive
    }

    var atEnd: Bool { i >= b.count }

    mutating func parseAlternation() -> Node? {
        var branches: [Node] = []
        guard let first = parseConcat() else { return nil }
        branches.append(first)
        while i < b.count, b[i] == UInt8(ascii: "|") {
            if depth == 0 { topLevelAlternation = true }
            i += 1
            guard let next = parseConcat() else { return nil }
            branches.append(next)
        }
        if branches.count == 1 { return first }
        var node = Node(exact: [], required: [])
        for br in branches {
            node.zeroWidth = node.zeroWidth || br.zeroWidth
            if let e = br.exact, let acc = node.exact, acc.count + e.count <= RegexLiterals.maxSetSize {
                node.exact = acc.union(e)
            } else {
                node.exact = nil
            }
            if let r = br.requirement, let acc = node.required, acc.count + r.count <= RegexLiterals.maxSetSize {
                node.required = acc.union(r)
            } else {
                node.required = nil
            }
        }
        return node
    }

    mutating func parseConcat() -> Node? {
        var items: [Node] = []
        while i < b.count, b[i] != UInt8(ascii: "|"), b[i] != UInt8(ascii: ")") {
            guard let atom = parseAtom(), let q = parseQuantifier(atom) else { return nil }
            items.append(q)
        }
        // `run` is the set of strings spelled by the current run of exact items (assertions
        // consume nothing, so they do not break a run); the best run or inner requirement wins.
        var node = Node(exact: [[]], required: nil)
        var run: Set<[UInt8]> = [[]]
        var best: Set<[UInt8]>? = nil
        for item in items {
            node.zeroWidth = node.zeroWidth || item.zeroWidth
            if let e = node.exact, let ie = item.exact { node.exact = product(e, ie) } else { node.exact = nil }
            if let ie = item.exact {
                if let p = product(run, ie) {
                    run = p
                } else {
                    best = better(best, run)
                    run = ie
                }
            } else {
                best = better(best, run)
                best = better(best, item.requirement)
                run = [[]]
            }
        }
        node.required = better(best, run)
        return node
    }

    mutating func parseQuantifier(_ atom: Node) -> Node? {
        guard i < b.count else { return atom }
        var minCount = 1
        switch b[i] {
        case UInt8(ascii: "?"): minCount = 0; i += 1
        case UInt8(ascii: "*"): minCount = 0; i += 1
        case UInt8(ascii: "+"): minCount = 1; i += 1
        case UInt8(ascii: "{"):
            var j = i + 1
            var digits = 0
            var m = 0
            while j < b.count, b[j] >= 0x30, b[j] <= 0x39 {
                m = m * 10 + Int(b[j] - 0x30)
                digits += 1
                j += 1
            }
            guard digits > 0, digits < 6 else { return atom } // a literal '{' in ICU? refuse below
            while j < b.count, b[j] != UInt8(ascii: "}") { j += 1 }
            guard j < b.count else { return nil }
            minCount = m
            i = j + 1
            if minCount >= 1 {
                return applyLazy(Node(exact: nil, required: atom.requirement, zeroWidth: atom.zeroWidth))
            }
            return applyLazy(Node(exact: nil, required: nil, zeroWidth: atom.zeroWidth))
        default:
            return atom
        }
        let wasQuestion = b[i - 1] == UInt8(ascii: "?")
        var node: Node
        if wasQuestion {
            node = Node(exact: atom.exact.map { $0.union([[]]) }, required: nil, zeroWidth: atom.zeroWidth)
        } else if minCount == 0 {
            node = Node(exact: nil, required: nil, zeroWidth: atom.zeroWidth)
        } else {
            node = Node(exact: nil, required: atom.requirement, zeroWidth: atom.zeroWidth)
        }
        return applyLazy(node)
    }

    /// Lazy `?` and possessive `+` after a quantifier change which match is found, not whether.
    mutating func applyLazy(_ n: Node) -> Node? {
        if i < b.count, b[i] == UInt8(ascii: "?") || b[i] == UInt8(ascii: "+") { i += 1 }
        if i < b.count, b[i] == UInt8(ascii: "?") || b[i] == UInt8(ascii: "*") || b[i] == UInt8(ascii: "+") {
            return nil // stacked quantifiers: not worth understanding
        }
        return n
    }

    mutating func literal(_ c: UInt8) -> Node {
        let v = caseInsensitive ? asciiLower(c) : c
        return Node(exact: [[v]], required: nil)
    }

    mutating func parseAtom() -> Node? {
        let c = b[i]
        i += 1
        switch c {
        case UInt8(ascii: "."): return .any
        case UInt8(ascii: "^"), UInt8(ascii: "$"): return .assertion
        case UInt8(ascii: "["): return parseClass()
        case UInt8(ascii: "("): return parseGroup()
        case UInt8(ascii: "\\"): return parseEscape()
        case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"): return nil
        default: return literal(c)
        }
    }

    mutating func parseGroup() -> Node? {
        var lookaround = false
        if i < b.count, b[i] == UInt8(ascii: "?") {
            guard i + 1 < b.count else { return nil }
            let k = b[i + 1]
            switch k {
            case UInt8(ascii: ":"), UInt8(ascii: ">"): i += 2
            case UInt8(ascii: "="), UInt8(ascii: "!"): i += 2; lookaround = true
            case UInt8(ascii: "<"):
                guard i + 2 < b.count else { return nil }
                if b[i + 2] == UInt8(ascii: "=") || b[i + 2] == UInt8(ascii: "!") {
                    i += 3
                    lookaround = true
                } else {
                    // Named group (?<name>...).
                    var j = i + 2
                    while j < b.count, b[j] != UInt8(ascii: ">") { j += 1 }
                    guard j < b.count else { return nil }
                    i = j + 1
                }
            default: return nil // inline flags and the rest: give up
            }
        }
        depth += 1
        defer { depth -= 1 }
        guard let inner = parseAlternation(), i < b.count, b[i] == UInt8(ascii: ")") else { return nil }
        i += 1
        if lookaround { return .assertion }
        return inner
    }

    mutating func parseEscape() -> Node? {
        guard i < b.count else { return nil }
        let c = b[i]
        i += 1
        switch c {
        case UInt8(ascii: "d"), UInt8(ascii: "D"), UInt8(ascii: "s"), UInt8(ascii: "S"),
             UInt8(ascii: "w"), UInt8(ascii: "W"), UInt8(ascii: "h"), UInt8(ascii: "H"),
             UInt8(ascii: "v"), UInt8(ascii: "V"), UInt8(ascii: "R"), UInt8(ascii: "X"):
            return .any
        case UInt8(ascii: "b"), UInt8(ascii: "B"), UInt8(ascii: "A"), UInt8(ascii: "Z"),
             UInt8(ascii: "z"), UInt8(ascii: "G"):
            return .assertion
        case UInt8(ascii: "t"): return literal(0x09)
        case UInt8(ascii: "n"): return literal(0x0A)
        case UInt8(ascii: "r"): return literal(0x0D)
        case UInt8(ascii: "f"): return literal(0x0C)
        case UInt8(ascii: "e"): return literal(0x1B)
        case UInt8(ascii: "a"): return literal(0x07)
        case UInt8(ascii: "x"):
            guard i + 1 < b.count, let h = hex(b[i]), let l = hex(b[i + 1]) else { return nil }
            i += 2
            let v = h << 4 | l
            return v < 0x80 ? literal(v) : nil
        default:
            // Escaped punctuation is itself; letters and digits have meanings we do not model.
            if c < 0x80, !isAlnum(c) { return literal(c) }
            return nil
        }
    }

    /// `[...]`: a small positive set of single bytes is exact; anything else is one unknown byte.
    mutating func parseClass() -> Node? {
        var negated = false
        if i < b.count, b[i] == UInt8(ascii: "^") {
            negated = true
            i += 1
        }
        var members = Set<UInt8>()
        var unknown = false
        var first = true
        while i < b.count {
            var c = b[i]
            if c == UInt8(ascii: "]"), !first { break }
            first = false
            i += 1
            if c == UInt8(ascii: "[") { return nil } // nested sets, POSIX classes
            if c == UInt8(ascii: "\\") {
                guard i < b.count else { return nil }
                let e = b[i]
                i += 1
                if isAlnum(e) {
                    switch e {
                    case UInt8(ascii: "t"): c = 0x09
                    case UInt8(ascii: "n"): c = 0x0A
                    case UInt8(ascii: "r"): c = 0x0D
                    case UInt8(ascii: "d"), UInt8(ascii: "s"), UInt8(ascii: "w"), UInt8(ascii: "D"),
                         UInt8(ascii: "S"), UInt8(ascii: "W"):
                        unknown = true
                        continue
                    default: return nil
                    }
                } else {
                    c = e
                }
            }
            if c >= 0x80 { unknown = true; continue }
            // A range a-z.
            if i + 1 < b.count, b[i] == UInt8(ascii: "-"), b[i + 1] != UInt8(ascii: "]") {
                var hi = b[i + 1]
                i += 2
                if hi == UInt8(ascii: "\\") {
                    guard i < b.count, !isAlnum(b[i]) else { return nil }
                    hi = b[i]
                    i += 1
                }
                guard hi >= c else { return nil }
                if Int(hi) - Int(c) > 16 || hi >= 0x80 {
                    unknown = true
                } else {
                    for x in c...hi { members.insert(x) }
                }
                continue
            }
            members.insert(c)
        }
        guard i < b.count, b[i] == UInt8(ascii: "]") else { return nil }
        i += 1
        if negated || unknown { return .any }
        let folded = Set(members.map { caseInsensitive ? asciiLower($0) : $0 })
        if folded.isEmpty || folded.count > 8 { return .any }
        return Node(exact: Set(folded.map { [$0] }), required: nil)
    }
}

private func isAlnum(_ c: UInt8) -> Bool {
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
}

private func hex(_ c: UInt8) -> UInt8? {
    switch c {
    case 0x30...0x39: return c - 0x30
    case 0x41...0x46: return c - 0x41 + 10
    case 0x61...0x66: return c - 0x61 + 10
    default: return nil
    }
}
