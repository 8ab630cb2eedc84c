#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A running shell: started in a new session (so it leads its own process group and the whole
/// group can be killed), reading commands from a socket (so writing to a dead shell fails with
/// an error instead of SIGPIPE), and writing stdout and stderr into one pipe that a dedicated
/// thread drains into `output`.
final class BashProcess: Sendable {
    let pid: pid_t
    let output: BashOutput
    private let input: Int32
    private let state = Mutex(State())

    private struct State {
        var exitStatus: Int32?
        var inputClosed = false
    }

    #if os(Linux)
    private static let spawnSetSID: Int32 = 0x80
    #else
    private static let spawnSetSID: Int32 = 0x0400
    #endif

    /// Signals reset to their default action in the shell: the server may ignore or block
    /// some (SIGPIPE, SIGTERM), and ignored signals would stay ignored in every command.
    private static let defaultedSignals: [Int32] = [
        SIGHUP, SIGINT, SIGQUIT, SIGPIPE, SIGALRM, SIGTERM, SIGUSR1, SIGUSR2, SIGCHLD, SIGTSTP, SIGTTIN, SIGTTOU,
        SIGURG, SIGXCPU, SIGXFSZ, SIGWINCH,
    ]

    private init(pid: pid_t, input: Int32, output: BashOutput) {
        self.pid = pid
        self.input = input
        self.output = output
    }

    /// Starts `arguments[0]` with exactly `environment`.
    static func start(arguments: [String], environment: [String: String], retainedBytes: Int) throws(SandboxError) -> BashProcess {
        var commandSockets: [Int32] = [-1, -1]
        var outputPipe: [Int32] = [-1, -1]
        #if os(Linux)
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &commandSockets) == 0 else {
            throw SandboxError("bash: cannot create a socket pair (errno \(errno))")
        }
        guard pipe(&outputPipe) == 0 else {
            close(commandSockets[0]); close(commandSockets[1])
            throw SandboxError("bash: cannot create a pipe (errno \(errno))")
        }
        for descriptor in outputPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        #else
        guard socketpair(AF_UNIX, SOCK_STREAM, 0, &commandSockets) == 0 else {
            throw SandboxError("bash: cannot create a socket pair (errno \(errno))")
        }
        guard pipe(&outputPipe) == 0 else {
            close(commandSockets[0]); close(commandSockets[1])
            throw SandboxError("bash: cannot create a pipe (errno \(errno))")
        }
        for descriptor in commandSockets + outputPipe { _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC) }
        var one: Int32 = 1
        _ = setsockopt(commandSockets[0], SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        let (parentInput, childInput) = (commandSockets[0], commandSockets[1])
        let (parentOutput, childOutput) = (outputPipe[0], outputPipe[1])

        let started = Spawn.with { spawn in
            posix_spawn_file_actions_adddup2(&spawn.actions, childInput, 0)
            posix_spawn_file_actions_adddup2(&spawn.actions, childOutput, 1)
            posix_spawn_file_actions_adddup2(&spawn.actions, childOutput, 2)
            SpawnFileActions.closeInheritedDescriptors(&spawn.actions)
            spawn.resetSignals(defaultedSignals)
            spawn.add(flags: spawnSetSID)
            return spawn.start(arguments, environment: environment.map { "\($0.key)=\($0.value)" })
        }
        close(childInput)
        close(childOutput)
        let pid: pid_t
        switch started {
        case .success(let started): pid = started
        case .failure(let failure):
            close(parentInput)
            close(parentOutput)
            throw SandboxError("bash: cannot start \(arguments[0]) (\(failure))")
        }
        let output = BashOutput(retainedBytes: retainedBytes)
        let reader = Thread { Self.drain(parentOutput, into: output) }
        reader.name = "reverie-bash-\(pid)"
        reader.start()
        return BashProcess(pid: pid, input: parentInput, output: output)
    }

    /// Reads the output pipe until EOF or until asked to stop, then closes it.
    private static func drain(_ descriptor: Int32, into output: BashOutput) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        while !output.stopRequested {
            let ready = poll(&poller, 1, 100)
            if ready == 0 { continue }
            if ready < 0 {
                if errno == EINTR { continue }
                break
            }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count > 0 {
                output.append(buffer[..<count])
            } else if count == 0 {
                break
            } else if errno != EINTR && errno != EAGAIN {
                break
            }
        }
        close(descriptor)
        output.finish()
    }

    /// Writes to the shell's input. The lock is held so the descriptor cannot be closed (and
    /// reused) meanwhile; `terminate()` kills the shell first, which ends a blocked write.
    func write(_ text: String) throws(SandboxError) {
        let bytes = Array(text.utf8)
        try state.withLock { (state) throws(SandboxError) in
            var offset = 0
            while offset < bytes.count {
                if state.inputClosed { throw SandboxError("bash: the shell's input is closed") }
                let written = bytes[offset...].withUnsafeBytes { systemSend(input, $0.baseAddress, $0.count) }
                if written < 0 {
                    if errno == EINTR { continue }
                    throw SandboxError("bash: cannot send the command to the shell (\(String(cString: strerror(errno))))")
                }
                offset += written
            }
        }
    }

    /// The shell's exit status once it has exited (reaping it), else nil.
    func exitStatus() -> Int32? {
        state.withLock { state in
            if let status = state.exitStatus { return status }
            var raw: Int32 = 0
            let result = waitpid(pid, &raw, WNOHANG)
            guard result == pid else {
                // Reaped elsewhere (SIGCHLD ignored?): gone only if the process no longer exists.
                if result < 0 && errno == ECHILD && kill(pid, 0) != 0 { state.exitStatus = -1 }
                return state.exitStatus
            }
            state.exitStatus = Self.decode(raw)
            return state.exitStatus
        }
    }

    /// `waitpid` status as a shell would report it: the exit code, or 128 + the signal.
    private static func decode(_ raw: Int32) -> Int32 {
        let signal = raw & 0x7f
        return signal == 0 ? (raw >> 8) & 0xff : 128 + signal
    }

    /// Kills the shell and everything in its process group, reaps it, and stops the reader.
    func terminate() async {
        _ = kill(-pid, SIGKILL)
        _ = kill(pid, SIGKILL)
        closeInput()
        for _ in 0..<200 where exitStatus() == nil {
            try? await Task.sleep(for: .milliseconds(10))
        }
        // Let the reader drain what the group wrote before it died, then stop it: a process that
        // left the group may still hold the pipe open.
        for _ in 0..<20 where !output.isFinished {
            try? await Task.sleep(for: .milliseconds(10))
        }
        output.requestStop()
    }

    func closeInput() {
        let shouldClose = state.withLock { state in
            defer { state.inputClosed = true }
            return !state.inputClosed
        }
        if shouldClose { close(input) }
    }
}

/// `send(2)` without SIGPIPE when the shell is gone.
private func systemSend(_ descriptor: Int32, _ bytes: UnsafeRawPointer?, _ count: Int) -> Int {
    #if os(Linux)
    send(descriptor, bytes, count, Int32(MSG_NOSIGNAL))
    #else
    send(descriptor, bytes, count, 0)
    #endif
}
