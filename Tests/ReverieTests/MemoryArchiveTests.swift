import Foundation
import ReverieCore
import ReverieRuntime
import Testing

@Suite(.timeLimit(.minutes(3))) struct MemoryArchiveTests {
    /// Every file under `folder`, by relative path, as bytes.
    func snapshot(_ folder: URL) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for relative in try FileManager.default.subpathsOfDirectory(atPath: folder.path) {
            let url = folder.appendingPathComponent(relative)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                files[relative] = try Data(contentsOf: url)
            }
        }
        return files
    }

    @Test func exportImportExportIsByteIdentical() async throws {
        let fixture = try await MemoryFixture()
        try await run({
            let platform = fixture.platform
            let store = try await platform.memory.createMemoryStore(
                MemoryStoreRequest(try ObjectReader(["name": "Team Lore", "description": "what we learned", "metadata": ["team": "infra"]]), creating: true))
            let contents: [String: String] = [
                "/README.md": "# Lore\n",
                "/notes/crlf.md": "line one\r\nline two\r\n",
                "/notes/bom.md": "\u{FEFF}starts with a BOM",
                "/notes/no-newline.md": "no trailing newline",
                "/notes/deep/er/empty.md": "",
                "/unicode/caf\u{E9} \u{65E5}\u{672C}.md": "e\u{301} stays decomposed in content, \u{1F600}",
                "/.hidden": "dot file",
            ]
            for (path, content) in contents { _ = try await platform.memory.writeMemory(storeID: store.id, path: path, content: content, actor: apiActor) }
            try await platform.memory.setMemoryPinned(storeID: store.id, path: "/README.md", pinned: true, actor: apiActor)

            let first = fixture.directory.appendingPathComponent("export-1")
            let second = fixture.directory.appendingPathComponent("export-2")
            #expect(try await platform.memory.exportMemoryStore(id: store.id, to: first.path) == contents.count)
            let firstFiles = try snapshot(first)
            #expect(firstFiles.count == contents.count + 1)
            for (path, content) in contents { #expect(firstFiles[String(path.dropFirst())] == Data(content.utf8)) }

            let (imported, count) = try await platform.memory.importMemoryStore(from: first.path, into: nil, name: nil, actor: .user("user_test"))
            #expect(count == contents.count)
            #expect(imported.id != store.id)
            #expect(imported.name == "Team Lore")
            #expect(imported.description == "what we learned")
            #expect(imported.metadata == ["team": "infra"])
            for (path, content) in contents {
                let file = try #require(try await platform.memory.readMemory(storeID: imported.id, path: path))
                #expect(Array(file.content.utf8) == Array(content.utf8))
                #expect(file.pinned == (path == "/README.md"))
            }
            try await platform.memory.exportMemoryStore(id: imported.id, to: second.path)
            #expect(try snapshot(second) == firstFiles)

            // A non-empty destination is refused; bad files are refused before anything is written.
            await #expect(throws: APIError.self) { try await platform.memory.exportMemoryStore(id: store.id, to: first.path) }
            let bad = fixture.directory.appendingPathComponent("bad")
            try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
            try Data("ok".utf8).write(to: bad.appendingPathComponent("fine.md"))
            try Data([0xFF, 0xFE, 0x00]).write(to: bad.appendingPathComponent("binary.bin"))
            let storesBefore = try await platform.memory.listMemoryStores(MemoryStoreFilter(), page: PageRequest()).items.count
            await #expect(throws: APIError.invalidRequest("binary.bin: not UTF-8 text")) {
                _ = try await platform.memory.importMemoryStore(from: bad.path, into: nil, name: nil, actor: .user("user_test"))
            }
            #expect(try await platform.memory.listMemoryStores(MemoryStoreFilter(), page: PageRequest()).items.count == storesBefore)
        }, thenStop: fixture.cleanUp)
    }
}
