import Foundation
import ReverieCore
import Testing
@testable import ReverieExecution
@testable import ReverieRuntime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A session sandbox in a fresh temporary folder, with a folder outside it holding a secret.
struct SandboxFixture {
    let folder: URL
    let sandbox: Sandbox
    /// A folder next to the session's, which tools must never reach.
    let outside: URL
    let secret: URL

    init() throws {
        folder = URL(fileURLWithPath: TemporaryDirectory.make()).resolvingSymlinksInPath()
        sandbox = try Sandbox(sessionID: "sesn_test", folder: folder.appendingPathComponent("session"))
        outside = folder.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        secret = outside.appendingPathComponent("secret.txt")
        try "top secret\n".write(to: secret, atomically: true, encoding: .utf8)
    }

    /// The host URL of a workspace path.
    func host(_ relativePath: String) -> URL { sandbox.workspace.root.appendingPathComponent(relativePath) }

    /// Writes a workspace file directly on disk.
    func put(_ relativePath: String, _ content: String, modified: Date? = nil) throws {
        let url = host(relativePath)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try content.write(to: url, atomically: true, encoding: .utf8)
        if let modified { try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: url.path) }
    }

    func link(_ relativePath: String, to destination: String) throws {
        try FileManager.default.createSymbolicLink(atPath: host(relativePath).path, withDestinationPath: destination)
    }

    func contents(_ url: URL) -> String? { try? String(contentsOf: url, encoding: .utf8) }

    /// Runs `body` with a fresh fixture, then closes the sandbox and removes the folder.
    static func with(_ body: (SandboxFixture) async throws -> Void) async throws {
        let fixture = try SandboxFixture()
        do {
            try await body(fixture)
        } catch {
            await fixture.sandbox.close()
            try? FileManager.default.removeItem(at: fixture.folder)
            throw error
        }
        await fixture.sandbox.close()
        try? FileManager.default.removeItem(at: fixture.folder)
    }
}

@Suite(.timeLimit(.minutes(3))) struct SandboxPathTests {
    @Test func relativeAndMountedPathsResolve() throws {
        try SandboxFixtureSync.with { fixture in
            let relative = try fixture.sandbox.resolve("src/./a.txt")
            #expect(relative.volume.mountPoint == "/workspace")
            #expect(relative.relativePath == "src/a.txt")
            #expect(relative.path == "/workspace/src/a.txt")
            #expect(try fixture.sandbox.resolve("/workspace/src/../b.txt").path == "/workspace/b.txt")
            let output = try fixture.sandbox.resolve("/mnt/session/outputs/report.md")
            #expect(output.volume.mountPoint == "/mnt/session/outputs")
            #expect(output.relativePath == "report.md")
        }
    }

    @Test func escapesThroughDotDotAndAbsolutePathsAreRefused() throws {
        try SandboxFixtureSync.with { fixture in
            for path in ["../secret.txt", "../../outside/secret.txt", "/workspace/../../etc/passwd", "a/../../..", "/etc/passwd", "/", "/mnt/session", "/tmp/x"] {
                let error = try #require(throws: SandboxError.self, "\(path)") { try fixture.sandbox.resolve(path) }
                #expect(error.message.contains("sandbox"), "\(path): \(error.message)")
            }
            #expect(throws: SandboxError.self) { try fixture.sandbox.resolve("") }
            #expect(throws: SandboxError.self) { try fixture.sandbox.resolve("a\0b") }
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct SandboxSymlinkTests {
    @Test func symlinkToOutsideFileIsRefusedForReadAndWrite() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.link("leak.txt", to: fixture.secret.path)
            let location = try fixture.sandbox.resolve("leak.txt")
            await #expect(throws: SandboxError.self) { try await location.volume.read(location.relativePath) }
            await #expect(throws: SandboxError.self) { try await location.volume.write(location.relativePath, content: "pwned") }
            await #expect(throws: SandboxError.self) { try await location.volume.delete(location.relativePath) }
            #expect(await location.volume.fileExists(location.relativePath) == false)
            #expect(fixture.contents(fixture.secret) == "top secret\n")

            // The same through the tools, with a message the model can act on.
            let read = await ReadTool().run(["file_path": "leak.txt"], in: fixture.sandbox)
            #expect(read.isError)
            #expect(read.text.contains("leaves the sandbox"))
            #expect(!read.text.contains("top secret"))
            let write = await WriteTool().run(["file_path": "/workspace/leak.txt", "content": "pwned"], in: fixture.sandbox)
            #expect(write.isError)
            let edit = await EditTool().run(["file_path": "leak.txt", "old_string": "top", "new_string": "no"], in: fixture.sandbox)
            #expect(edit.isError)
            #expect(fixture.contents(fixture.secret) == "top secret\n")
        }
    }

    @Test func relativeSymlinkClimbingOutIsRefused() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("sub/keep.txt", "x")
            try fixture.link("sub/up.txt", to: "../../../outside/secret.txt")
            let read = await ReadTool().run(["file_path": "sub/up.txt"], in: fixture.sandbox)
            #expect(read.isError)
            #expect(!read.text.contains("top secret"))
        }
    }

    @Test func symlinkedDirectoryToOutsideIsRefused() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.link("door", to: fixture.outside.path)
            let read = await ReadTool().run(["file_path": "door/secret.txt"], in: fixture.sandbox)
            #expect(read.isError)
            #expect(!read.text.contains("top secret"))
            let write = await WriteTool().run(["file_path": "door/new.txt", "content": "x"], in: fixture.sandbox)
            #expect(write.isError)
            let nested = await WriteTool().run(["file_path": "door/deeper/new.txt", "content": "x"], in: fixture.sandbox)
            #expect(nested.isError)
            #expect(!FileManager.default.fileExists(atPath: fixture.outside.appendingPathComponent("new.txt").path))
            #expect(!FileManager.default.fileExists(atPath: fixture.outside.appendingPathComponent("deeper").path))

            // Listing does not follow the link either.
            let glob = await GlobTool().run(["pattern": "**/*.txt"], in: fixture.sandbox)
            #expect(!glob.text.contains("secret"))
            let grep = await GrepTool().run(["pattern": "secret"], in: fixture.sandbox)
            #expect(!grep.text.contains("top secret"))
            let grepInside = await GrepTool().run(["pattern": "secret", "path": "door"], in: fixture.sandbox)
            #expect(!grepInside.text.contains("top secret"))
        }
    }

    @Test func danglingSymlinkToOutsideIsRefused() async throws {
        try await SandboxFixture.with { fixture in
            let target = fixture.outside.appendingPathComponent("created.txt")
            try fixture.link("dangling.txt", to: target.path)
            let write = await WriteTool().run(["file_path": "dangling.txt", "content": "escaped"], in: fixture.sandbox)
            #expect(write.isError)
            #expect(!FileManager.default.fileExists(atPath: target.path))
            let read = await ReadTool().run(["file_path": "dangling.txt"], in: fixture.sandbox)
            #expect(read.isError)
            // A dangling link to a missing folder outside, written through.
            try fixture.link("gone", to: fixture.outside.appendingPathComponent("missing-dir").path)
            let nested = await WriteTool().run(["file_path": "gone/file.txt", "content": "escaped"], in: fixture.sandbox)
            #expect(nested.isError)
            #expect(!FileManager.default.fileExists(atPath: fixture.outside.appendingPathComponent("missing-dir").path))
        }
    }

    @Test func chainOfSymlinksEndingOutsideIsRefused() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.link("c.txt", to: fixture.outside.appendingPathComponent("not-yet.txt").path)
            try fixture.link("b.txt", to: "c.txt")
            try fixture.link("a.txt", to: "b.txt")
            let write = await WriteTool().run(["file_path": "a.txt", "content": "escaped"], in: fixture.sandbox)
            #expect(write.isError)
            #expect(!FileManager.default.fileExists(atPath: fixture.outside.appendingPathComponent("not-yet.txt").path))
            try fixture.link("d.txt", to: fixture.secret.path)
            try fixture.link("e.txt", to: "d.txt")
            let read = await ReadTool().run(["file_path": "e.txt"], in: fixture.sandbox)
            #expect(read.isError)
            #expect(!read.text.contains("top secret"))
        }
    }

    @Test func symlinkStayingInsideIsFollowed() async throws {
        try await SandboxFixture.with { fixture in
            try fixture.put("real/data.txt", "inside\n")
            try fixture.link("alias", to: "real")
            let read = await ReadTool().run(["file_path": "alias/data.txt"], in: fixture.sandbox)
            #expect(!read.isError)
            #expect(read.text.contains("inside"))
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct SandboxVolumeTests {
    @Test func specialFilesAreNotRead() async throws {
        try await SandboxFixture.with { fixture in
            #expect(mkfifo(fixture.host("pipe").path, 0o600) == 0)
            let read = await ReadTool().run(["file_path": "pipe"], in: fixture.sandbox)
            #expect(read.isError)
            #expect(read.text.contains("not a regular file"))
        }
    }

    @Test func readOnlyVolumesRefuseWrites() async throws {
        try await SandboxFixture.with { fixture in
            let memoryFolder = fixture.folder.appendingPathComponent("memory")
            try FileManager.default.createDirectory(at: memoryFolder, withIntermediateDirectories: true)
            try "remember\n".write(to: memoryFolder.appendingPathComponent("note.md"), atomically: true, encoding: .utf8)
            let memory = try DiskVolume(mountPoint: "/mnt/memory/notes", root: memoryFolder, isReadOnly: true)
            let sandbox = try Sandbox(sessionID: "sesn_ro", folder: fixture.folder.appendingPathComponent("ro"), extraVolumes: [memory])
            #expect(sandbox.memoryVolumes.count == 1)
            let read = await ReadTool().run(["file_path": "/mnt/memory/notes/note.md"], in: sandbox)
            #expect(read.text == "     1\tremember\n")
            let write = await WriteTool().run(["file_path": "/mnt/memory/notes/note.md", "content": "forget"], in: sandbox)
            #expect(write.isError)
            #expect(write.text.contains("read-only"))
            let edit = await EditTool().run(["file_path": "/mnt/memory/notes/note.md", "old_string": "remember", "new_string": "x"], in: sandbox)
            #expect(edit.isError)
            // Search tools reach memory volumes, also from the folder above the mounts.
            let glob = await GlobTool().run(["pattern": "/mnt/memory/*/*.md"], in: sandbox)
            #expect(glob.text == "/mnt/memory/notes/note.md\n")
            let grep = await GrepTool().run(["pattern": "rem", "path": "/mnt/memory"], in: sandbox)
            #expect(grep.text == "/mnt/memory/notes/note.md:1:remember\n")
            await sandbox.close()
        }
    }
}

@Suite(.timeLimit(.minutes(3))) struct SandboxCloseTests {
    @Test func closingKillsTheShellAndItsChildren() async throws {
        try await SandboxFixture.with { fixture in
            let started = await BashTool().run(["command": "sleep 60 & echo $!"], in: fixture.sandbox)
            let child = try #require(Int32(started.text.split(separator: "\n").first ?? ""))
            let session = try fixture.sandbox.resource(BashTool.resourceKey) { BashSession(workingDirectory: fixture.folder, configuration: .init(environment: [:])) }
            let shell = try #require(await session.processID)
            #expect(ProcessProbe.isAlive(child))
            #expect(ProcessProbe.isAlive(shell))
            await fixture.sandbox.close()
            #expect(fixture.sandbox.isClosed)
            #expect(await ProcessProbe.becomesDead(child))
            #expect(await ProcessProbe.becomesDead(shell))
            let after = await BashTool().run(["command": "echo again"], in: fixture.sandbox)
            #expect(after.isError)
            #expect(after.text.contains("closed"))
        }
    }
}

/// The synchronous form of `SandboxFixture.with`, for tests without shells.
enum SandboxFixtureSync {
    static func with(_ body: (SandboxFixture) throws -> Void) throws {
        let fixture = try SandboxFixture()
        defer { try? FileManager.default.removeItem(at: fixture.folder) }
        try body(fixture)
    }
}

/// Whether a process is still running (a zombie awaiting its reaper counts as dead).
enum ProcessProbe {
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        #if os(Linux)
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).prefix(1)
        return state != "Z" && state != "X"
        #else
        return true
        #endif
    }

    static func becomesDead(_ pid: Int32, within seconds: Double = 3) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if !isAlive(pid) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return !isAlive(pid)
    }
}
