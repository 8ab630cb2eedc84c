import Foundation
import ReverieCore
import Testing

/// The request JSON parser and every request reader, fed the committed corpus
/// (`Tests/Fuzz/corpus`) and a fixed number of seeded mutations of it: nothing may crash, and
/// whatever parses must survive a write and re-read unchanged. See docs/operations.md.
@Suite(.timeLimit(.minutes(3))) struct RequestParsingFuzzTests {
    static let corpusDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz/corpus")
    /// Mutations per corpus file; `REVERIE_FUZZ_ITERATIONS` raises it for longer runs.
    static let iterations = Int(ProcessInfo.processInfo.environment["REVERIE_FUZZ_ITERATIONS"] ?? "") ?? 400

    static func corpus() throws -> [(name: String, data: Data)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: corpusDirectory.path).sorted()
        return try names.map { ($0, try Data(contentsOf: corpusDirectory.appendingPathComponent($0))) }
    }

    @Test func theCorpusParsesOrIsRefusedCleanly() throws {
        let corpus = try Self.corpus()
        #expect(corpus.count >= 20)
        for (name, data) in corpus {
            #expect(RequestParsingProbe.exercise(data), "\(name) changed in a write and re-read")
        }
        // Nesting deeper than the reader allows is an error, not a stack overflow.
        let deep = try #require(corpus.first { $0.name == "deep.json" })
        #expect(throws: APIError.self) { _ = try ObjectReader(body: deep.data) }
    }

    @Test func seededMutationsNeverCrash() throws {
        var generator = SeededGenerator(seed: 0x5EED_2026)
        let corpus = try Self.corpus()
        var runs = 0
        for (name, original) in corpus {
            for _ in 0..<Self.iterations {
                let mutated = Self.mutate(original, with: &generator, donor: corpus.randomElement(using: &generator)?.data ?? Data())
                if !RequestParsingProbe.exercise(mutated) {
                    Issue.record("a mutation of \(name) changed in a write and re-read: \(mutated.base64EncodedString())")
                    return
                }
                runs += 1
            }
        }
        #expect(runs == corpus.count * Self.iterations)
    }

    /// One to four edits: flip a bit, insert or delete bytes, replace with an interesting byte,
    /// or splice in part of another input.
    static func mutate(_ data: Data, with generator: inout SeededGenerator, donor: Data) -> Data {
        var bytes = [UInt8](data)
        let interesting: [UInt8] = [0x00, 0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x3A, 0x2C, 0x2D, 0x30, 0x65, 0x75, 0xFF, 0xC3, 0xED, 0xF0, 0x0A]
        for _ in 0..<Int.random(in: 1...4, using: &generator) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<5, using: &generator) {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &generator)
            case 1: bytes.insert(interesting.randomElement(using: &generator) ?? 0, at: position)
            case 2 where !bytes.isEmpty: bytes.removeSubrange(position..<min(bytes.count, position + Int.random(in: 1...8, using: &generator)))
            case 3 where !bytes.isEmpty: bytes[position] = interesting.randomElement(using: &generator) ?? 0
            default:
                guard !donor.isEmpty else { continue }
                let start = Int.random(in: 0..<donor.count, using: &generator)
                let piece = donor[donor.startIndex + start..<donor.startIndex + min(donor.count, start + Int.random(in: 1...64, using: &generator))]
                bytes.insert(contentsOf: piece, at: position)
            }
        }
        return Data(bytes)
    }
}
