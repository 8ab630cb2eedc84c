#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// One `posix_spawn`: its file actions and attributes, made and freed in one place, and the
/// call itself with its argument and environment strings. Every program Reverie starts goes
/// through it (`ChildProcess`, the sandbox's bubblewrap, the bash tool's shell).
struct Spawn {
    #if os(Linux)
    typealias Attributes = posix_spawnattr_t
    #else
    typealias Attributes = posix_spawnattr_t?
    #endif

    var actions = SpawnFileActions.Actions()
    var attributes = Attributes()
    private var flags: Int32 = 0

    /// Runs `body` with fresh file actions and attributes, destroyed afterwards.
    static func with<Result, Failure: Error>(_ body: (inout Spawn) throws(Failure) -> Result) throws(Failure) -> Result {
        var spawn = Spawn()
        posix_spawn_file_actions_init(&spawn.actions)
        posix_spawnattr_init(&spawn.attributes)
        defer {
            posix_spawn_file_actions_destroy(&spawn.actions)
            posix_spawnattr_destroy(&spawn.attributes)
        }
        return try body(&spawn)
    }

    /// The child starts with `signals` (every signal when nil) at their default action and
    /// nothing blocked: this process may ignore or block some, and the child would inherit that.
    mutating func resetSignals(_ signals: [Int32]? = nil) {
        var defaults = sigset_t()
        if let signals {
            sigemptyset(&defaults)
            for signal in signals { sigaddset(&defaults, signal) }
        } else {
            sigfillset(&defaults)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        flags |= Int32(POSIX_SPAWN_SETSIGDEF) | Int32(POSIX_SPAWN_SETSIGMASK)
    }

    /// Adds `posix_spawn` flags (`POSIX_SPAWN_SETPGROUP`, setsid, …).
    mutating func add(flags more: Int32) {
        flags |= more
    }

    /// Starts `arguments[0]` (an absolute path) with `arguments` and exactly `environment`
    /// (`NAME=value` strings); the child's pid, or the error number.
    mutating func start(_ arguments: [String], environment: [String]) -> Result<pid_t, SpawnFailure> {
        posix_spawnattr_setflags(&attributes, Int16(truncatingIfNeeded: flags))
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        return result == 0 ? .success(pid) : .failure(SpawnFailure(number: result))
    }
}

/// Why `posix_spawn` failed: an error number, readable.
struct SpawnFailure: Error, CustomStringConvertible {
    let number: Int32

    var description: String { String(cString: strerror(number)) }
}
