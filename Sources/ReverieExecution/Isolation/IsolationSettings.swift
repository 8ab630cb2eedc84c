#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Foundation
import Synchronization

/// How a server isolates its sessions' tools (`reverie serve --sandbox`).
public struct IsolationSettings: Sendable {
    public enum Mode: Sendable, Equatable {
        /// Every built-in tool runs in a per-session bubblewrap sandbox (the default).
        case bubblewrap
        /// Tools run in the server process and its shell, on the host, as the server's user.
        /// Unsafe: for development only.
        case none
        /// A sandbox was asked for but cannot be made here (the reason says why): built-in tools
        /// are refused rather than run unisolated.
        case unavailable(String)
    }

    public var mode: Mode
    /// `bwrap`.
    public var bubblewrap: String
    /// `setpriv`, used to drop to the sandbox's own user when the server runs as root.
    public var setpriv: String
    /// The `reverie` binary that serves tools inside sandboxes (by default this process's own).
    public var toolServer: String
    /// The first host user id sandboxes run as when the server is root; each session gets one
    /// of `userCount` ids from here, so per-user limits count only its own processes.
    public var firstUserID: UInt32
    public var userCount: UInt32
    public var limits: SandboxLimits
    /// Address ranges (CIDR) sandboxes may reach through the egress proxy although they are
    /// not public — an intranet package mirror, say. Empty by default: loopback, private,
    /// link-local and metadata addresses are never reachable.
    public var egressAllowedNetworks: [String]
    /// A PEM file of certificates the egress proxy trusts, besides the system's roots, when it
    /// opens TLS to a destination for a credential (an intranet service's own CA, a test host's).
    public var egressTrustRootsFile: String?

    public init(mode: Mode = .bubblewrap, bubblewrap: String = "/usr/bin/bwrap", setpriv: String = "/usr/bin/setpriv",
                toolServer: String? = nil, firstUserID: UInt32 = 200_000, userCount: UInt32 = 100_000, limits: SandboxLimits = SandboxLimits(),
                egressAllowedNetworks: [String] = []) {
        self.egressAllowedNetworks = egressAllowedNetworks
        self.mode = mode
        self.bubblewrap = bubblewrap
        self.setpriv = setpriv
        self.toolServer = toolServer ?? Self.currentExecutable()
        self.firstUserID = firstUserID
        self.userCount = max(1, userCount)
        self.limits = limits
    }

    /// This process's executable.
    public static func currentExecutable() -> String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }

    /// The folders outside the system's library folders that `binary` loads shared libraries
    /// from (the Swift runtime of a dynamically linked build), which the sandbox must show it.
    public static func libraryFolders(of binary: String) -> [String] {
        LibraryFolders.cache.withLock { cache in
            if let known = cache[binary] { return known }
            let found = LibraryFolders.lookUp(binary)
            cache[binary] = found
            return found
        }
    }

    /// The host user a session's sandbox runs as: one of the configured range when the server
    /// is root, nil (the server's own user) otherwise.
    public func hostUser(for sessionID: String) -> UInt32? {
        guard geteuid() == 0 else { return nil }
        return firstUserID + UInt32(truncatingIfNeeded: SessionHash.of(sessionID) % UInt64(userCount))
    }
}

/// `ldd`'s view of a binary's libraries, looked up once per binary.
enum LibraryFolders {
    static let cache = Mutex<[String: [String]]>([:])
    static let systemFolders = ["/usr/", "/lib/", "/lib64/", "/lib32/", "/libx32/"]

    static func lookUp(_ binary: String) -> [String] {
        guard let ldd = try? ChildProcess.start("/usr/bin/ldd", arguments: [binary], output: .collect) else { return [] }
        let data = ldd.waitUntilExit().output
        var folders: [String] = []
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            guard let arrow = line.range(of: "=> /") else { continue }
            let rest = line[line.index(before: arrow.upperBound)...]
            let path = String(rest.prefix { $0 != " " })
            let folder = (path as NSString).deletingLastPathComponent
            if !systemFolders.contains(where: { (folder + "/").hasPrefix($0) }), !folders.contains(folder) { folders.append(folder) }
        }
        return folders
    }
}

/// A stable 64-bit FNV-1a hash of a session id (the same in every process and run).
enum SessionHash {
    static func of(_ sessionID: String) -> UInt64 {
        var hash: UInt64 = 14_695_981_039_346_656_037
        for byte in sessionID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 1_099_511_628_211
        }
        return hash
    }
}
