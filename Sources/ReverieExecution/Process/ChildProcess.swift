#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import Synchronization

/// A program this process started with `posix_spawn`, used instead of Foundation's `Process`,
/// whose Linux launch copies whole `dirent` records while listing /proc/self/fd and can crash
/// a process with many descriptors open (swift-corelibs-foundation#5472).
///
/// The child reads standard input from /dev/null, writes where it is told, gets no other
/// descriptor of this process, default signal handling and an empty signal mask. It is reaped
/// on a thread of its own, and never signalled once reaped (its pid may be another's by then).
public final class ChildProcess: Sendable {
    public let pid: pid_t
    private let signalsGroup: Bool
    private let finished: DispatchGroup
    private let state = Mutex(State())

    private struct State {
        var reaped = false
        var status: Int32 = 0
        var signal: Int32?
        var output = Data()
        var errors = Data()
    }

    private init(pid: pid_t, signalsGroup: Bool, finished: DispatchGroup) {
        self.pid = pid
        self.signalsGroup = signalsGroup
        self.finished = finished
    }

    /// Starts `executable` (an absolute path) with `arguments`.
    /// - Parameters:
    ///   - environment: exactly the child's environment; nil passes this process's own.
    ///   - directory: the working directory; nil keeps this process's.
    ///   - output: where standard output goes (`.intoOutput` discards it).
    ///   - errors: where standard error goes.
    ///   - ownProcessGroup: the child leads a new process group, and `signal` reaches the
    ///     whole group (what it started too).
    public static func start(
        _ executable: String, arguments: [String] = [], environment: [String: String]? = nil, directory: String? = nil,
        output: ChildOutput = .discard, errors: ChildOutput = .discard, ownProcessGroup: Bool = false
    ) throws(ChildProcessError) -> ChildProcess {
        var readEnds: [(descriptor: Int32, destination: ChildOutput, isOutput: Bool)] = []
        var childEnds: [Int32] = []
        func closeAll() {
            for descriptor in readEnds.map(\.descriptor) + childEnds { close(descriptor) }
        }
        let started = try Spawn.with { (spawn) throws(ChildProcessError) -> Result<pid_t, SpawnFailure> in
            posix_spawn_file_actions_addopen(&spawn.actions, 0, "/dev/null", O_RDONLY, 0)
            for (stream, destination) in [(Int32(1), output), (Int32(2), errors)] {
                switch destination {
                case .inherit:
                    break
                case .discard:
                    posix_spawn_file_actions_addopen(&spawn.actions, stream, "/dev/null", O_WRONLY, 0)
                case .intoOutput:
                    if stream == 2 {
                        posix_spawn_file_actions_adddup2(&spawn.actions, 1, 2)
                    } else {
                        posix_spawn_file_actions_addopen(&spawn.actions, stream, "/dev/null", O_WRONLY, 0)
                    }
                case .collect, .lines:
                    var ends: [Int32] = [-1, -1]
                    guard pipe(&ends) == 0 else {
                        closeAll()
                        throw ChildProcessError("cannot create a pipe for \(executable) (errno \(errno))")
                    }
                    for descriptor in ends { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
                    readEnds.append((ends[0], destination, stream == 1))
                    childEnds.append(ends[1])
                    posix_spawn_file_actions_adddup2(&spawn.actions, ends[1], stream)
                }
            }
            SpawnFileActions.closeInheritedDescriptors(&spawn.actions)
            if let directory, !SpawnFileActions.changeDirectory(&spawn.actions, to: directory) {
                closeAll()
                throw ChildProcessError("cannot start \(executable) in \(directory): this C library cannot change a child's directory")
            }
            spawn.resetSignals()
            if ownProcessGroup {
                posix_spawnattr_setpgroup(&spawn.attributes, 0)
                spawn.add(flags: Int32(POSIX_SPAWN_SETPGROUP))
            }
            let environment = (environment ?? ProcessInfo.processInfo.environment).map { "\($0.key)=\($0.value)" }
            return spawn.start([executable] + arguments, environment: environment)
        }
        for descriptor in childEnds { close(descriptor) }
        childEnds = []
        let pid: pid_t
        switch started {
        case .success(let started): pid = started
        case .failure(let failure):
            closeAll()
            throw ChildProcessError("cannot start \(executable) (\(failure))")
        }

        let finished = DispatchGroup()
        let process = ChildProcess(pid: pid, signalsGroup: ownProcessGroup, finished: finished)
        for end in readEnds {
            finished.enter()
            switch end.destination {
            case .lines(let lines):
                LineReader.start(end.descriptor, onLine: { lines.yield($0) }) {
                    close(end.descriptor)
                    lines.finish()
                    finished.leave()
                }
            default:
                let thread = Thread {
                    let data = DescriptorReading.readAll(end.descriptor).data
                    close(end.descriptor)
                    process.state.withLock { state in
                        if end.isOutput { state.output = data } else { state.errors = data }
                    }
                    finished.leave()
                }
                thread.start()
            }
        }
        finished.enter()
        let reaper = Thread {
            process.reap()
            finished.leave()
        }
        reaper.start()
        return process
    }

    /// Starts a program and waits for it to end (see `start`).
    public static func run(
        _ executable: String, arguments: [String] = [], environment: [String: String]? = nil, directory: String? = nil,
        output: ChildOutput = .collect, errors: ChildOutput = .collect
    ) async throws(ChildProcessError) -> ChildTermination {
        try await start(executable, arguments: arguments, environment: environment, directory: directory, output: output, errors: errors)
            .termination()
    }

    /// Sends `signal` (to the child's process group when it leads one), unless it has ended.
    public func signal(_ signal: Int32 = SIGTERM) {
        state.withLock { state in
            if !state.reaped { _ = kill(signalsGroup ? -pid : pid, signal) }
        }
    }

    /// Waits, without blocking a thread, until the child has ended and its collected streams
    /// are closed.
    public func termination() async -> ChildTermination {
        await withCheckedContinuation { continuation in
            finished.notify(queue: .global()) { continuation.resume(returning: self.ended()) }
        }
    }

    /// Blocks the calling thread until the child has ended and its collected streams are closed.
    public func waitUntilExit() -> ChildTermination {
        finished.wait()
        return ended()
    }

    private func ended() -> ChildTermination {
        state.withLock { ChildTermination(status: $0.status, signal: $0.signal, output: $0.output, errors: $0.errors) }
    }

    /// Waits until the process has exited without reaping it (so `signal` never reaches a
    /// recycled pid), then reaps it under the lock `signal` takes.
    private func reap() {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0, errno == EINTR {}
        state.withLock { state in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            state.reaped = true
            if status & 0x7f == 0 {
                state.status = (status >> 8) & 0xff
            } else {
                state.signal = status & 0x7f
                state.status = 128 + (status & 0x7f)
            }
        }
    }
}
