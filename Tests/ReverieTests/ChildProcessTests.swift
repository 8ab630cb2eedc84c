import Foundation
import Testing
@testable import ReverieExecution

/// Programs started with `ChildProcess` (posix_spawn; Foundation's `Process` can crash a busy
/// process on Linux): what they get, what comes back, and how they are stopped.
@Suite(.timeLimit(.minutes(1))) struct ChildProcessTests {
    @Test func outputErrorsAndStatusComeBackApart() async throws {
        let ended = try await ChildProcess.run("/bin/sh", arguments: ["-c", "echo out; echo err >&2; exit 3"])
        #expect(String(decoding: ended.output, as: UTF8.self) == "out\n")
        #expect(String(decoding: ended.errors, as: UTF8.self) == "err\n")
        #expect(ended.status == 3)
        #expect(ended.signal == nil)
        #expect(!ended.succeeded)

        let merged = try await ChildProcess.run("/bin/sh", arguments: ["-c", "echo one; echo two >&2; echo three"], errors: .intoOutput)
        #expect(String(decoding: merged.output, as: UTF8.self) == "one\ntwo\nthree\n")
        #expect(merged.errors.isEmpty)
        #expect(merged.succeeded)
    }

    @Test func theChildGetsExactlyItsEnvironmentDirectoryAndStreams() async throws {
        let environment = try await ChildProcess.run("/usr/bin/env", environment: ["ONLY": "this one"])
        #expect(String(decoding: environment.output, as: UTF8.self) == "ONLY=this one\n")

        let folder = TemporaryDirectory.make()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let directory = try await ChildProcess.run("/bin/pwd", directory: folder)
        #expect(String(decoding: directory.output, as: UTF8.self) == URL(fileURLWithPath: folder).resolvingSymlinksInPath().path + "\n")

        // A descriptor of this process without close-on-exec is not passed on; input is /dev/null.
        let descriptor = open("/etc/hostname", O_RDONLY)
        #expect(descriptor > 2)
        defer { close(descriptor) }
        let streams = try await ChildProcess.run(
            "/bin/sh", arguments: ["-c", "[ -e /proc/self/fd/\(descriptor) ] && echo inherited || echo closed; readlink /proc/self/fd/0"])
        #expect(String(decoding: streams.output, as: UTF8.self) == "closed\n/dev/null\n")
    }

    @Test func aProgramThatCannotStartIsAnError() async throws {
        await #expect(throws: ChildProcessError.self) { try await ChildProcess.run("/nonexistent/program") }
    }

    /// Signalled as a process group, a child and what it started end, so its streams close.
    @Test func signallingAGroupEndsWhatTheChildStarted() async throws {
        let (lines, sink) = AsyncStream.makeStream(of: String.self)
        let child = try ChildProcess.start(
            "/bin/sh", arguments: ["-c", "sleep 30 & echo started; wait"], output: .lines(sink), ownProcessGroup: true)
        var iterator = lines.makeAsyncIterator()
        #expect(await iterator.next() == "started")
        child.signal(SIGKILL)
        let ended = await child.termination()
        #expect(ended.signal == SIGKILL)
        #expect(ended.status == 128 + SIGKILL)
        #expect(await iterator.next() == nil, "the stream closed: the background sleep ended too")
        // Signalling an ended child does nothing (its pid may belong to another process).
        child.signal(SIGKILL)
        #expect(child.waitUntilExit().signal == SIGKILL)
    }
}
