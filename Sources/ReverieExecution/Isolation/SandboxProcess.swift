#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization

/// The bubblewrap process of a sandbox: started with `posix_spawn` so that it gets exactly
/// its standard streams and nothing else of the server (no other descriptor, default signal
/// handling, a minimal environment); its input is a socket (writing after it died is an error, not
/// SIGPIPE), its output and error output are pipes read on threads of their own.
final class SandboxProcess: Sendable {
    let pid: pid_t
    private let input: Int32
    private let inputClosed = Mutex(false)
    /// Set once the process is reaped: its pid may then belong to another process.
    private let reaped = Mutex(false)

    private init(pid: pid_t, input: Int32) {
        self.pid = pid
        self.input = input
    }

    /// Starts `invocation`; `onLine` gets each line of its standard output, `onErrorLine` each
    /// line of its error output, `onExit` is called once it has exited and been reaped.
    static func start(
        _ invocation: BubblewrapCommand.Invocation, onLine: @escaping @Sendable (String) -> Void,
        onErrorLine: @escaping @Sendable (String) -> Void, onExit: @escaping @Sendable () -> Void
    ) throws(SandboxError) -> SandboxProcess {
        var sockets: [Int32] = [-1, -1]
        var output: [Int32] = [-1, -1]
        var errors: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &sockets) == 0 else {
            throw SandboxError("the sandbox cannot create a socket pair (errno \(errno))")
        }
        guard pipe(&output) == 0, pipe(&errors) == 0 else {
            for descriptor in sockets + output + errors where descriptor >= 0 { close(descriptor) }
            throw SandboxError("the sandbox cannot create a pipe (errno \(errno))")
        }
        for descriptor in output + errors { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        let started = Spawn.with { spawn in
            posix_spawn_file_actions_adddup2(&spawn.actions, sockets[1], 0)
            posix_spawn_file_actions_adddup2(&spawn.actions, output[1], 1)
            posix_spawn_file_actions_adddup2(&spawn.actions, errors[1], 2)
            SpawnFileActions.closeInheritedDescriptors(&spawn.actions)
            spawn.resetSignals()
            return spawn.start(invocation.arguments, environment: ["PATH=/usr/local/bin:/usr/bin:/bin"])
        }
        close(sockets[1])
        close(output[1])
        close(errors[1])
        let pid: pid_t
        switch started {
        case .success(let started): pid = started
        case .failure(let failure):
            close(sockets[0])
            close(output[0])
            close(errors[0])
            throw SandboxError("the sandbox could not start \(invocation.arguments[0]) (\(failure))")
        }
        let process = SandboxProcess(pid: pid, input: sockets[0])
        let reading = output[0]
        LineReader.start(reading, onLine: onLine) {
            close(reading)
            process.reap()
            onExit()
        }
        let errorReading = errors[0]
        LineReader.start(errorReading, onLine: onErrorLine) { close(errorReading) }
        return process
    }

    /// Writes to the process's standard input; false when it is gone.
    func write(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return inputClosed.withLock { closed in
            var offset = 0
            while offset < bytes.count {
                if closed { return false }
                let written = bytes[offset...].withUnsafeBytes { send(input, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    /// Waits until the process has exited, then reaps it.
    private func reap() {
        var info = siginfo_t()
        // Wait without reaping, so that `kill` never signals a recycled pid.
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0, errno == EINTR {}
        reaped.withLock { done in
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0, errno == EINTR {}
            done = true
        }
    }

    /// Kills the process (the kernel then ends everything in the sandbox) and closes its input.
    func kill() {
        reaped.withLock { done in
            if !done { _ = Glibc.kill(pid, SIGKILL) }
        }
        inputClosed.withLock { closed in
            if !closed { close(input) }
            closed = true
        }
    }
}
