/// A doublestar glob pattern matched against `/`-separated relative paths: `**` as a whole
/// segment matches any number of folders (including none), `*` any characters within a
/// segment, `?` one character, `[abc]`, `[a-z]`, `[!x]` or `[^x]` one character of a set,
/// `{a,b}` alternatives, and `\` escapes the next character.
struct GlobPattern: Sendable {
    private enum Token: Sendable {
        case literal(Character)
        case any
        case star
        case set(items: [ClosedRange<Character>], negated: Bool)

        func matches(_ character: Character) -> Bool {
            switch self {
            case .literal(let literal): literal == character
            case .any: true
            case .star: false
            case .set(let items, let negated): items.contains { $0.contains(character) } != negated
            }
        }
    }

    private enum Segment: Sendable {
        case globstar
        case tokens([Token])
    }

    /// The most alternatives `{…}` may expand to.
    static let maxAlternatives = 256

    private let alternatives: [[Segment]]

    init(_ pattern: String) throws(SandboxError) {
        var alternatives: [[Segment]] = []
        for expanded in try Self.expandBraces(Array(pattern)) {
            var segments: [Segment] = []
            for part in String(expanded).split(separator: "/", omittingEmptySubsequences: true) where part != "." {
                if part == "**" {
                    if case .globstar = segments.last { continue }
                    segments.append(.globstar)
                } else {
                    segments.append(.tokens(try Self.tokens(part, pattern: pattern)))
                }
            }
            alternatives.append(segments)
        }
        self.alternatives = alternatives
    }

    /// Whether a pattern segment has glob syntax (and so cannot be taken literally).
    static func isMagic(_ segment: some StringProtocol) -> Bool {
        segment.contains { "*?[{\\".contains($0) }
    }

    /// Whether `path` (relative, `/`-separated) matches.
    func matches(_ path: String) -> Bool {
        let names = path.split(separator: "/").map { Array($0) }
        return alternatives.contains { Self.match($0[...], names[...]) }
    }

    private static func match(_ segments: ArraySlice<Segment>, _ names: ArraySlice<[Character]>) -> Bool {
        guard let segment = segments.first else { return names.isEmpty }
        switch segment {
        case .globstar:
            let rest = segments.dropFirst()
            return (0...names.count).contains { match(rest, names.dropFirst($0)) }
        case .tokens(let tokens):
            guard let name = names.first, matchSegment(tokens, name) else { return false }
            return match(segments.dropFirst(), names.dropFirst())
        }
    }

    private static func matchSegment(_ tokens: [Token], _ name: [Character]) -> Bool {
        var token = 0, index = 0
        var starToken = -1, starIndex = 0
        while index < name.count {
            if token < tokens.count, case .star = tokens[token] {
                starToken = token
                starIndex = index
                token += 1
            } else if token < tokens.count, tokens[token].matches(name[index]) {
                token += 1
                index += 1
            } else if starToken >= 0 {
                token = starToken + 1
                starIndex += 1
                index = starIndex
            } else {
                return false
            }
        }
        while token < tokens.count, case .star = tokens[token] { token += 1 }
        return token == tokens.count
    }

    private static func tokens(_ segment: Substring, pattern: String) throws(SandboxError) -> [Token] {
        let characters = Array(segment)
        var tokens: [Token] = []
        var index = 0
        while index < characters.count {
            let character = characters[index]
            switch character {
            case "\\":
                index += 1
                guard index < characters.count else { throw SandboxError("glob: pattern \"\(pattern)\" ends with a lone \\") }
                tokens.append(.literal(characters[index]))
            case "*":
                if case .star = tokens.last {} else { tokens.append(.star) }
            case "?":
                tokens.append(.any)
            case "[":
                var cursor = index + 1
                var negated = false
                if cursor < characters.count, characters[cursor] == "!" || characters[cursor] == "^" {
                    negated = true
                    cursor += 1
                }
                var items: [ClosedRange<Character>] = []
                var first = true
                while cursor < characters.count, first || characters[cursor] != "]" {
                    first = false
                    var low = characters[cursor]
                    if low == "\\", cursor + 1 < characters.count {
                        cursor += 1
                        low = characters[cursor]
                    }
                    cursor += 1
                    if cursor + 1 < characters.count, characters[cursor] == "-", characters[cursor + 1] != "]" {
                        var high = characters[cursor + 1]
                        cursor += 2
                        if high == "\\", cursor < characters.count {
                            high = characters[cursor]
                            cursor += 1
                        }
                        guard low <= high else { throw SandboxError("glob: bad range \(low)-\(high) in pattern \"\(pattern)\"") }
                        items.append(low...high)
                    } else {
                        items.append(low...low)
                    }
                }
                guard cursor < characters.count else { throw SandboxError("glob: unterminated [ in pattern \"\(pattern)\"") }
                tokens.append(.set(items: items, negated: negated))
                index = cursor
            default:
                tokens.append(.literal(character))
            }
            index += 1
        }
        return tokens
    }

    /// Expands the first `{a,b}` group (recursively), leaving unbalanced braces literal.
    private static func expandBraces(_ pattern: [Character]) throws(SandboxError) -> [[Character]] {
        var index = 0
        var open: Int?
        var depth = 0
        var commas: [Int] = []
        while index < pattern.count {
            switch pattern[index] {
            case "\\": index += 1
            case "{":
                if open == nil { open = index } else { depth += 1 }
            case "}" where open != nil:
                if depth > 0 {
                    depth -= 1
                } else if let start = open {
                    let prefix = pattern[..<start]
                    let suffix = pattern[(index + 1)...]
                    var result: [[Character]] = []
                    var from = start + 1
                    for end in commas + [index] {
                        for expanded in try expandBraces(Array(prefix) + Array(pattern[from..<end]) + Array(suffix)) {
                            result.append(expanded)
                            if result.count > maxAlternatives {
                                throw SandboxError("glob: pattern expands to more than \(maxAlternatives) alternatives")
                            }
                        }
                        from = end + 1
                    }
                    return result
                }
            case "," where open != nil && depth == 0:
                commas.append(index)
            default: break
            }
            index += 1
        }
        return [pattern]
    }
}
