import Foundation
import ReverieCore
import ReverieRuntime
import Testing

@Suite(.timeLimit(.minutes(3))) struct MemoryPathTests {
    /// Asserts that `path` is refused with a message mentioning `rule`.
    func expectRejected(_ path: String, _ rule: String, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try MemoryPath.validate(path)
            Issue.record("'\(path)' was accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.kind == .invalidRequest, sourceLocation: sourceLocation)
            #expect(error.message.hasPrefix("path: "), sourceLocation: sourceLocation)
            #expect(error.message.contains(rule), "\(error.message)", sourceLocation: sourceLocation)
        }
    }

    @Test func acceptsOrdinaryPaths() throws {
        for path in ["/a", "/notes/todo.md", "/Projects/Foo Bar/notes.md", "/.hidden", "/ünïcode/日本語.md", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t"] {
            try MemoryPath.validate(path)
        }
    }

    @Test func mustStartWithSlash() { expectRejected("notes.md", "must start with '/'") }
    @Test func atMost1024Bytes() {
        expectRejected("/" + String(repeating: "é", count: 512), "at most 1024 bytes")
        #expect((try? MemoryPath.validate("/" + String(repeating: "a", count: 1023))) != nil)
    }
    @Test func noEmptySegments() {
        expectRejected("/", "empty segments")
        expectRejected("/a//b", "empty segments")
        expectRejected("/a/", "empty segments")
    }
    @Test func noDotSegments() {
        expectRejected("/a/./b", "'.' or '..'")
        expectRejected("/a/../b", "'.' or '..'")
        expectRejected("/..", "'.' or '..'")
    }
    @Test func atMost20Segments() { expectRejected("/" + (1...21).map(String.init).joined(separator: "/"), "at most 20 segments") }
    @Test func noControlCharacters() {
        expectRejected("/a\nb", "control characters")
        expectRejected("/a\u{7F}", "control characters")
    }
    @Test func noFormatCharacters() {
        expectRejected("/a\u{200B}b", "format characters")
        expectRejected("/\u{FEFF}a", "format characters")
    }
    @Test func noLineOrParagraphSeparators() {
        expectRejected("/a\u{2028}b", "U+2028")
        expectRejected("/a\u{2029}b", "U+2028 and U+2029")
    }
    @Test func mustBeNFC() {
        expectRejected("/cafe\u{301}.md", "Normalization Form C")
        #expect((try? MemoryPath.validate("/caf\u{E9}.md")) != nil)
    }
    /// Paths differing only in case name different memories: both validate, both can be
    /// created side by side (no case-folding conflict), and each reads back its own content.
    @Test func caseSensitiveDistinct() async throws {
        try MemoryPath.validate("/Notes")
        try MemoryPath.validate("/notes")
        let fixture = try await MemoryFixture()
        try await run({
            let platform = fixture.platform
            let store = try await fixture.makeStore()
            let upper = try await platform.memory.createMemory(
                storeID: store.id, try MemoryCreateRequest(ObjectReader(["path": "/Notes", "content": "upper"])), actor: apiActor)
            let lower = try await platform.memory.createMemory(
                storeID: store.id, try MemoryCreateRequest(ObjectReader(["path": "/notes", "content": "lower"])), actor: apiActor)
            #expect(upper.id != lower.id)
            #expect(try await platform.memory.readMemory(storeID: store.id, path: "/Notes")?.content == "upper")
            #expect(try await platform.memory.readMemory(storeID: store.id, path: "/notes")?.content == "lower")
            #expect(try await platform.memory.readMemory(storeID: store.id, path: "/NOTES") == nil)
        }, thenStop: fixture.cleanUp)
    }

    @Test func prefixRules() throws {
        try MemoryPath.validatePrefix("/")
        try MemoryPath.validatePrefix("/notes/")
        #expect(throws: APIError.self) { try MemoryPath.validatePrefix("/notes") }
        #expect(throws: APIError.self) { try MemoryPath.validatePrefix("notes/") }
        #expect(throws: APIError.self) { try MemoryPath.validatePrefix("/a/../") }
    }

    @Test func contentLimit() throws {
        try MemoryPath.validateContent(String(repeating: "x", count: 102_400))
        #expect(throws: APIError.invalidRequest("content: must be at most 102400 bytes (got 102401)")) {
            try MemoryPath.validateContent(String(repeating: "x", count: 102_401))
        }
    }

    @Test func sha256IsOfUTF8Bytes() {
        #expect(MemoryPath.sha256("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(MemoryPath.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func slugs() {
        #expect(MemoryStore.slug("User Preferences") == "user-preferences")
        #expect(MemoryStore.slug("  Notes (v2)!! ") == "notes-v2")
        #expect(MemoryStore.slug("a__b--c") == "a-b-c")
        #expect(MemoryStore.slug("Ünïcode") == "n-code")
        #expect(MemoryStore.slug("!!!") == "memory")
    }
}
