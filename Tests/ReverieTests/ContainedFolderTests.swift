import Foundation
import Testing
@testable import ReverieExecution
import ReverieRuntime

/// The file operations the server makes in folders agents can change never follow a link out.
@Suite struct ContainedFolderTests {
    struct Fixture {
        let base = URL(fileURLWithPath: TemporaryDirectory.make())
        var inside: URL { base.appendingPathComponent("inside") }
        var outside: URL { base.appendingPathComponent("outside") }
        var folder: ContainedFolder { ContainedFolder(root: inside) }

        init() throws {
            try FileManager.default.createDirectory(at: base.appendingPathComponent("inside"), withIntermediateDirectories: true)
            try FileManager.default.createDirectory(at: base.appendingPathComponent("outside"), withIntermediateDirectories: true)
            try Data("host secret".utf8).write(to: base.appendingPathComponent("outside/secret.txt"))
            // What an agent can plant: a link to a file and a link to a folder outside.
            try FileManager.default.createSymbolicLink(atPath: inside.appendingPathComponent("file-link.md").path, withDestinationPath: outside.appendingPathComponent("secret.txt").path)
            try FileManager.default.createSymbolicLink(atPath: inside.appendingPathComponent("dir-link").path, withDestinationPath: outside.path)
            try FileManager.default.createDirectory(at: inside.appendingPathComponent("real"), withIntermediateDirectories: true)
            try Data("mine".utf8).write(to: inside.appendingPathComponent("real/own.md"))
        }

        func outsideText() throws -> String { try String(contentsOf: outside.appendingPathComponent("secret.txt"), encoding: .utf8) }
        func outsideEntries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: outside.path).sorted() }
    }

    @Test func readsAndListingsDoNotFollowLinks() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.base) }
        #expect(fixture.folder.read("real/own.md") == Data("mine".utf8))
        #expect(fixture.folder.read("file-link.md") == nil)
        #expect(fixture.folder.read("dir-link/secret.txt") == nil)
        #expect(fixture.folder.read("real") == nil, "a folder is not a file")
        #expect(fixture.folder.read("../outside/secret.txt") == nil)
        #expect(fixture.folder.regularFiles() == ["real/own.md"])
    }

    @Test func writesReplaceLinksAndNeverWriteThroughThem() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.base) }
        try fixture.folder.write(Data("memory".utf8), to: "file-link.md")
        #expect(try fixture.outsideText() == "host secret")
        #expect(fixture.folder.read("file-link.md") == Data("memory".utf8), "the link was replaced by a file")
        #expect(throws: ContainedFolder.Failure.self) { try fixture.folder.write(Data("x".utf8), to: "dir-link/planted.md") }
        #expect(try fixture.outsideEntries() == ["secret.txt"])
        try fixture.folder.write(Data("deep".utf8), to: "new/folder/file.md")
        #expect(fixture.folder.read("new/folder/file.md") == Data("deep".utf8))
        #expect(throws: ContainedFolder.Failure.self) { try fixture.folder.write(Data("x".utf8), to: "../escape.md") }
    }

    @Test func removesAndMovesStayInside() throws {
        let fixture = try Fixture()
        defer { try? FileManager.default.removeItem(at: fixture.base) }
        fixture.folder.remove("dir-link/secret.txt")
        fixture.folder.remove("file-link.md")
        #expect(try fixture.outsideText() == "host secret", "removing a link leaves its target")
        #expect(!FileManager.default.fileExists(atPath: fixture.inside.appendingPathComponent("file-link.md").path))
        let kept = ContainedFolder(root: fixture.base.appendingPathComponent("inside/real"))
        #expect(throws: ContainedFolder.Failure.self) { try fixture.folder.move("dir-link/secret.txt", to: kept, at: "taken.txt") }
        #expect(try fixture.outsideEntries() == ["secret.txt"])
        try fixture.folder.move("real/own.md", to: fixture.folder, at: "conflicts/real/own.md")
        #expect(fixture.folder.read("conflicts/real/own.md") == Data("mine".utf8))
    }
}

/// A session's outputs are recorded as files without following links the agent left there.
@Suite struct OutputRecordingTests {
    @Test func linksInOutputsAreNotRecorded() async throws {
        let server = try await TestServer.start()
        try await run({
            let session = try await server.makeSession()
            let host = URL(fileURLWithPath: TemporaryDirectory.make())
            defer { try? FileManager.default.removeItem(at: host) }
            try Data("HOST-SECRET".utf8).write(to: host.appendingPathComponent("secret.txt"))
            let outputs = Sandbox.sessionFolder(dataDirectory: server.directory, sessionID: session).appendingPathComponent("outputs")
            try FileManager.default.createDirectory(at: outputs.appendingPathComponent("notes"), withIntermediateDirectories: true)
            try Data("report".utf8).write(to: outputs.appendingPathComponent("report.txt"))
            try Data("a".utf8).write(to: outputs.appendingPathComponent("notes/a.txt"))
            try FileManager.default.createSymbolicLink(at: outputs.appendingPathComponent("leak.txt"), withDestinationURL: host.appendingPathComponent("secret.txt"))
            try FileManager.default.createSymbolicLink(at: outputs.appendingPathComponent("host"), withDestinationURL: host)
            let recorded = try await server.platform.files.recordOutputs(sessionID: session)
            #expect(recorded.map(\.filename).sorted() == ["notes/a.txt", "report.txt"])
            #expect(recorded.first { $0.filename == "report.txt" }?.sizeBytes == 6)
        }, thenStop: server.stop)
    }
}
