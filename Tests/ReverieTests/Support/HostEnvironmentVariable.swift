import Foundation

/// A variable of this test process's environment that a sandbox must not see, for the tests
/// that check the server's environment is not inherited.
///
/// Tests never call `setenv`/`unsetenv`: they run in parallel, and changing the environment
/// while another thread reads it (`getenv`, `posix_spawn`, Foundation) is undefined behaviour
/// that can crash the whole test process.
struct HostEnvironmentVariable: Sendable {
    let name: String
    let value: String

    /// Names a sandbox has of its own (bubblewrap's `--setenv` list) or that its shell sets.
    private static let sandboxOwn: Set<String> = ["PATH", "HOME", "LANG", "TMPDIR", "USER", "LOGNAME", "PWD", "OLDPWD", "SHLVL", "_"]

    /// One variable with a plain name and a non-empty value, preferring Reverie's own
    /// (`REVERIE_…`); nil when the environment has none besides a sandbox's own names.
    static func pick() -> HostEnvironmentVariable? {
        let candidates = ProcessInfo.processInfo.environment
            .filter { name, value in
                !sandboxOwn.contains(name) && !value.isEmpty
                    && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            }
            .sorted { ($0.key.hasPrefix("REVERIE_") ? 0 : 1, $0.key) < ($1.key.hasPrefix("REVERIE_") ? 0 : 1, $1.key) }
        return candidates.first.map { HostEnvironmentVariable(name: $0.key, value: $0.value) }
    }
}
