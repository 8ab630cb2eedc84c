#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation

/// Resource limits on everything a session runs in its sandbox. They are applied as rlimits
/// by the tool server inside the sandbox before it starts any tool, so every process the
/// agent starts inherits them; the sandbox runs under a user id of its own, so the process
/// limit counts only that session's processes.
public struct SandboxLimits: Sendable, Equatable, Codable {
    /// CPU seconds one process may use (`RLIMIT_CPU`).
    public var cpuSeconds: Int
    /// Address space of one process, in bytes (`RLIMIT_AS`).
    public var memoryBytes: Int
    /// Processes and threads the sandbox's user may run at once (`RLIMIT_NPROC`).
    public var processes: Int
    /// The largest file a process may write, in bytes (`RLIMIT_FSIZE`).
    public var fileBytes: Int
    /// Open files per process (`RLIMIT_NOFILE`).
    public var openFiles: Int
    /// Size of the sandbox's private `/tmp` (a memory-backed file system), in bytes.
    public var tmpBytes: Int

    public init(cpuSeconds: Int = 3600, memoryBytes: Int = 4 << 30, processes: Int = 512, fileBytes: Int = 1 << 30, openFiles: Int = 4096,
                tmpBytes: Int = 256 << 20) {
        self.cpuSeconds = cpuSeconds
        self.memoryBytes = memoryBytes
        self.processes = processes
        self.fileBytes = fileBytes
        self.openFiles = openFiles
        self.tmpBytes = tmpBytes
    }

    /// Applies the limits to this process (and so to everything it starts). Returns the
    /// limits that could not be set, by name.
    @discardableResult
    public func apply() -> [String] {
        var failed: [String] = []
        func set(_ resource: Int32, _ value: Int, _ name: String) {
            var limit = rlimit(rlim_cur: rlim_t(value), rlim_max: rlim_t(value))
            #if canImport(Glibc)
            let result = setrlimit(__rlimit_resource_t(UInt32(resource)), &limit)
            #else
            let result = setrlimit(resource, &limit)
            #endif
            if result != 0 { failed.append(name) }
        }
        set(Int32(RLIMIT_CPU.rawValue), cpuSeconds, "cpu")
        set(Int32(RLIMIT_AS.rawValue), memoryBytes, "memory")
        // Glibc's Swift overlay leaves RLIMIT_NPROC out; it is 6 on Linux.
        set(6, processes, "processes")
        set(Int32(RLIMIT_FSIZE.rawValue), fileBytes, "file size")
        set(Int32(RLIMIT_NOFILE.rawValue), openFiles, "open files")
        return failed
    }
}
