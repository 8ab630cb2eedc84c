import Foundation
import Testing

@testable import ReverieCore

/// `JSONCoding` reads and writes `JSONValue` directly; the results must be exactly those of
/// the Foundation coders it replaces (`JSONCoding.decoder()` / `JSONCoding.encoder()`).
@Suite(.timeLimit(.minutes(3))) struct JSONValueBytesTests {
    static func foundationDecode(_ text: String) -> JSONValue? {
        try? JSONCoding.decoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    static func fastDecode(_ text: String) -> JSONValue? {
        try? JSONValueBytes.parse(Data(text.utf8))
    }

    static let texts = [
        "1.0", "1e2", "1E2", "1.5", "-0", "-0.0", "0", "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "1e300", "0.1", "2.50", "100000000000000000000", "9007199254740993.0", "1e-400", "123456789012345678.0",
        "0.5e1", "-1.5e3", "1.25e1", "1e18", "1e19", "-9.3e18", "0.9e19", "1e+2", "12e-1", "120e-1", "0.000",
        #""\u0000\/""#, #""\uD83D\uDE00""#, #""\ud83d\ude00 and \u00e9 \u2028""#, #""tab\there\nnew \"q\" back\\slash""#,
        "[1 , 2 ]", "{ }", "[ ]", "[1,]", #"{"a":1,}"#, #"{"a":1,"a":2}"#, " [1] ", "\u{FEFF}[1]", "true", "false", "null",
        #"{"nested":{"deeper":[1,2.5,"x",null,true,{"k":[]}]},"b":"é😀"}"#, "\t\n\r [ \"spaced\" ]\n",
    ]

    static let invalid = [
        "[1,,2]", "[,]", "{,}", "01", "+1", ".5", "1.", "\"\\x\"", "tru", "[1] x", "\"\\ud83d\"", "\"\\ude00\"", "-", "1e", "1.0e400",
        "\"a\u{1}\"", "", "   ", "[", "{\"a\"", "{\"a\":}", "{1:2}", "\"unterminated", "[1 2]", "nul", "[-]", "--1", "1e+", "\"\\u12\"",
    ]

    @Test(arguments: texts)
    func readsLikeJSONDecoder(text: String) throws {
        let expected = try #require(Self.foundationDecode(text), "Foundation rejects \(text)")
        #expect(Self.fastDecode(text) == expected)
    }

    @Test(arguments: invalid)
    func refusesWhatJSONDecoderRefuses(text: String) {
        #expect(Self.foundationDecode(text) == nil)
        #expect(Self.fastDecode(text) == nil)
    }

    @Test func refusesInvalidUTF8AndDeepNesting() {
        #expect((try? JSONValueBytes.parse(Data([0x22, 0xFF, 0x22]))) == nil)
        #expect((try? JSONValueBytes.parse(Data([0x22, 0x5C, 0x6E, 0xC3, 0x22]))) == nil)
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect((try? JSONValueBytes.parse(Data(deep.utf8))) == nil)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect((try? JSONValueBytes.parse(Data(fine.utf8))) != nil)
    }

    @Test func writesLikeJSONEncoder() throws {
        var generator = SeededGenerator(seed: 42)
        for _ in 0..<400 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let expected = try JSONCoding.encoder().encode(value)
            let written = Data(try JSONValueBytes.write(value))
            #expect(written == expected, "\(String(decoding: expected, as: UTF8.self))")
            // And what was written reads back the same both ways.
            let text = String(decoding: written, as: UTF8.self)
            #expect(Self.fastDecode(text) == Self.foundationDecode(text))
        }
        #expect(throws: (any Error).self) { try JSONValueBytes.write(.double(.nan)) }
        #expect(throws: (any Error).self) { try JSONValueBytes.write(["x": .double(.infinity)]) }
    }

    @Test func readsPrettyPrintedOutputLikeJSONDecoder() throws {
        var generator = SeededGenerator(seed: 7)
        let pretty = JSONCoding.encoder()
        pretty.outputFormatting.insert(.prettyPrinted)
        for _ in 0..<200 {
            let value = Self.randomValue(depth: 0, using: &generator)
            let text = String(decoding: try pretty.encode(value), as: UTF8.self)
            let expected = try #require(Self.foundationDecode(text))
            #expect(Self.fastDecode(text) == expected)
        }
    }

    static let alphabet: [String] = ["a", "b", "B", "_", "-", "1", "é", "e\u{301}", "ß", "😀", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{1F}",
                                     "\u{7F}", "\u{2028}", " ", "日"]

    static func randomString(using generator: inout SeededGenerator) -> String {
        (0..<Int.random(in: 0...6, using: &generator)).map { _ in alphabet.randomElement(using: &generator) ?? "" }.joined()
    }

    static func randomValue(depth: Int, using generator: inout SeededGenerator) -> JSONValue {
        let kind = Int.random(in: 0...(depth > 3 ? 5 : 7), using: &generator)
        switch kind {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &generator))
        case 2: return .int([0, 1, -1, Int64.max, Int64.min, Int64.random(in: -1_000_000...1_000_000, using: &generator)].randomElement(using: &generator) ?? 0)
        case 3: return .double([0.1, -2.5, 1e20, 1e21, 1.5e-7, 123456.789, 1e-5, Double.leastNonzeroMagnitude, 1.7976931348623157e308, 0.333].randomElement(using: &generator) ?? 0.5)
        case 4, 5: return .string(randomString(using: &generator))
        case 6: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth + 1, using: &generator) })
        default:
            var members: [String: JSONValue] = [:]
            for _ in 0..<Int.random(in: 0...5, using: &generator) {
                members[randomString(using: &generator)] = randomValue(depth: depth + 1, using: &generator)
            }
            return .object(members)
        }
    }
}

/// A deterministic random number generator (SplitMix64), so failures reproduce.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Values that build their own JSON (`JSONRepresentable`) write what `JSONEncoder` writes.
@Suite(.timeLimit(.minutes(3))) struct DirectJSONTests {
    static let states: [SessionState] = [
        SessionState(updatedAt: Date(timeIntervalSince1970: 1_700_000_000)),
        SessionState(
            status: .running, usage: SessionUsage(inputTokens: 12, outputTokens: 7, cacheReadInputTokens: 3, cacheCreationInputTokens: 5),
            activeSeconds: 12.345678, runningSince: Date(timeIntervalSince1970: 1_700_000_100.123456),
            outcomeEvaluations: [
                OutcomeEvaluation(outcomeID: "outc_1", description: "Say \"hi\" / é", iteration: 2, result: "satisfied", explanation: "ok",
                                  completedAt: Date(timeIntervalSince1970: 1_700_000_200.5)),
                OutcomeEvaluation(outcomeID: "outc_2", description: "", iteration: 0, result: "pending"),
            ],
            lastSequence: 9_007_199_254_740_993, updatedAt: Date(timeIntervalSince1970: 1_700_000_300.000001)),
        SessionState(status: .terminated, activeSeconds: 1e-7, lastSequence: 1, updatedAt: Date(timeIntervalSince1970: 0)),
    ]

    /// Values that build their JSON directly write exactly the bytes `JSONEncoder` writes for them.
    @Test(arguments: states)
    func directStateJSONMatchesItsCodableEncoding(state: SessionState) throws {
        let foundation = String(decoding: try JSONCoding.encoder().encode(state), as: UTF8.self)
        #expect(try JSONCoding.string(state) == foundation)
        #expect(try JSONCoding.decode(SessionState.self, from: JSONCoding.string(state)) == state)
    }
}
