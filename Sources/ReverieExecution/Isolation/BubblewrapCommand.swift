import Foundation

/// The command line that starts a session's tool server inside a bubblewrap sandbox: new user,
/// mount, PID, IPC, UTS and network namespaces; an unprivileged user inside; a read-only view
/// of the system's programs and libraries; the session's folders and memory mounts where the
/// agent sees them (read-only memory mounts read-only in the kernel); a private `/tmp`; an
/// environment of its own. Nothing else of the host is there.
public struct BubblewrapCommand: Sendable, Equatable {
    /// The session's folders on the host.
    public struct Folders: Sendable, Equatable {
        public var workspace: String
        public var outputs: String
        /// Memory mounts: host folder → mount point, read-only or not.
        public var memory: [(host: String, mountPoint: String, readOnly: Bool)]
        /// Generated files the sandbox sees read-only (its `/etc/passwd`, …), host path → path inside.
        public var files: [(host: String, path: String)]
        /// The Unix socket of the session's egress proxy, bound at `SandboxPaths.proxySocket`.
        public var proxySocket: String?
        /// The trust store with the installation's egress CA, bound read-only at
        /// `SandboxPaths.caBundle` and over the system's bundle.
        public var caBundle: String?

        public init(workspace: String, outputs: String, memory: [(host: String, mountPoint: String, readOnly: Bool)] = [],
                    files: [(host: String, path: String)] = [], proxySocket: String? = nil, caBundle: String? = nil) {
            self.workspace = workspace
            self.outputs = outputs
            self.memory = memory
            self.files = files
            self.proxySocket = proxySocket
            self.caBundle = caBundle
        }

        public static func == (lhs: Folders, rhs: Folders) -> Bool {
            lhs.workspace == rhs.workspace && lhs.outputs == rhs.outputs && lhs.proxySocket == rhs.proxySocket && lhs.caBundle == rhs.caBundle
                && lhs.memory.map { "\($0.host)|\($0.mountPoint)|\($0.readOnly)" } == rhs.memory.map { "\($0.host)|\($0.mountPoint)|\($0.readOnly)" }
                && lhs.files.map { "\($0.host)|\($0.path)" } == rhs.files.map { "\($0.host)|\($0.path)" }
        }
    }

    /// `bwrap`.
    public var bubblewrap: String
    /// The `reverie` binary that serves tools inside, and the folders outside the system's
    /// library folders it loads libraries from (the Swift runtime, unless linked statically).
    public var toolServer: String
    public var libraryFolders: [String]
    /// The host user and group the sandbox's processes run as, when the server is root:
    /// bubblewrap then runs privileged (no user namespace) and `setpriv` inside switches to
    /// this user, with no capabilities and `no_new_privs`, before the tool server starts. Nil
    /// (a server that is not root) runs bubblewrap unprivileged in a user namespace, as user
    /// `SandboxPaths.uid` inside.
    public var hostUser: (setpriv: String, uid: UInt32)?
    public var folders: Folders
    public var tmpBytes: Int

    public static func == (lhs: BubblewrapCommand, rhs: BubblewrapCommand) -> Bool {
        lhs.invocation(settingsJSON: "") == rhs.invocation(settingsJSON: "")
    }

    /// The command line.
    public struct Invocation: Sendable, Equatable {
        public var arguments: [String]
    }

    /// Every place something is mounted inside (besides the system folders).
    private var destinations: [String] {
        ["/etc/ssl", "/tmp", SandboxPaths.workspace, SandboxPaths.outputs, SandboxPaths.toolServer, SandboxPaths.proxySocket, SandboxPaths.caBundle]
            + folders.files.map(\.path) + folders.memory.map(\.mountPoint) + libraryFolders
    }

    /// The folders above `paths`, parents first, without `/` and the system folders.
    static func ancestors(of paths: [String]) -> [String] {
        var seen: Set<String> = ["/", "/usr", "/proc", "/dev"]
        var ordered: [String] = []
        for path in paths {
            var parents: [String] = []
            var current = (path as NSString).deletingLastPathComponent
            while !seen.contains(current), current != "/", !current.isEmpty {
                parents.append(current)
                seen.insert(current)
                current = (current as NSString).deletingLastPathComponent
            }
            ordered += parents.reversed()
        }
        return ordered
    }

    /// The user id the agent's processes have inside.
    public var uidInside: UInt32 { hostUser?.uid ?? SandboxPaths.uid }

    /// The whole command line; the tool server gets `settingsJSON`.
    public func invocation(settingsJSON: String) -> Invocation {
        func bind(_ host: String, _ destination: String, readOnly: Bool) -> [String] {
            [readOnly ? "--ro-bind" : "--bind", host, destination]
        }
        var arguments = [bubblewrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-net", "--unshare-cgroup-try"]
        if hostUser != nil {
            // Privileged: only what `setpriv` needs to become the sandbox's user, dropped there.
            arguments += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        } else {
            arguments += ["--unshare-user", "--uid", String(SandboxPaths.uid), "--gid", String(SandboxPaths.uid), "--disable-userns"]
        }
        arguments += [
            "--hostname", "sandbox", "--die-with-parent", "--new-session",
            "--clearenv",
            "--setenv", "PATH", "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
            "--setenv", "HOME", SandboxPaths.workspace, "--setenv", "LANG", "C.UTF-8", "--setenv", "TMPDIR", "/tmp",
            "--setenv", "USER", "sandbox", "--setenv", "LOGNAME", "sandbox",
            "--ro-bind", "/usr", "/usr",
        ]
        // Folders bubblewrap would create on the way to a mount point are private to their
        // creator (root, for a privileged sandbox); make them readable like a system's.
        for folder in Self.ancestors(of: destinations) { arguments += ["--perms", "0755", "--dir", folder] }
        for folder in ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"] {
            if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: folder) {
                arguments += ["--symlink", target, folder]
            } else if FileManager.default.fileExists(atPath: folder) {
                arguments += ["--ro-bind", folder, folder]
            }
        }
        // The parts of /etc ordinary programs need; nothing that names the host's users or secrets.
        for entry in ["/etc/alternatives", "/etc/ssl", "/etc/ca-certificates", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
                      "/etc/localtime", "/etc/nsswitch.conf", "/etc/mime.types", "/etc/gitconfig", "/etc/inputrc", "/etc/profile"] {
            arguments += ["--ro-bind-try", entry, entry]
        }
        arguments += ["--proc", "/proc", "--dev", "/dev", "--size", String(tmpBytes), "--tmpfs", "/tmp"]
        for file in folders.files { arguments += bind(file.host, file.path, readOnly: true) }
        arguments += bind(folders.workspace, SandboxPaths.workspace, readOnly: false)
        arguments += bind(folders.outputs, SandboxPaths.outputs, readOnly: false)
        for mount in folders.memory { arguments += bind(mount.host, mount.mountPoint, readOnly: mount.readOnly) }
        if let socket = folders.proxySocket { arguments += bind(socket, SandboxPaths.proxySocket, readOnly: false) }
        if let bundle = folders.caBundle {
            arguments += bind(bundle, SandboxPaths.caBundle, readOnly: true)
            // Programs that read the distribution's bundle directly trust the CA too.
            if FileManager.default.fileExists(atPath: SandboxPaths.systemCABundle) {
                arguments += bind(bundle, SandboxPaths.systemCABundle, readOnly: true)
            }
        }
        arguments += bind(toolServer, SandboxPaths.toolServer, readOnly: true)
        for folder in libraryFolders { arguments += bind(folder, folder, readOnly: true) }
        arguments += ["--chdir", SandboxPaths.workspace]
        if let hostUser {
            arguments += [hostUser.setpriv, "--reuid=\(hostUser.uid)", "--regid=\(hostUser.uid)", "--clear-groups", "--no-new-privs", "--"]
        }
        arguments += [SandboxPaths.toolServer, "sandbox-tools", "--settings", settingsJSON]
        return Invocation(arguments: arguments)
    }
}

/// Where things are inside an isolated sandbox.
public enum SandboxPaths {
    public static let workspace = Sandbox.workspaceMount
    public static let outputs = Sandbox.outputsMount
    /// The tool server binary.
    public static let toolServer = "/.reverie/reverie"
    /// The egress proxy's Unix socket.
    public static let proxySocket = "/.reverie/proxy.sock"
    /// The trust store with the installation's egress CA (when the proxy intercepts).
    public static let caBundle = "/.reverie/ca-bundle.pem"
    /// Debian's bundle of trusted roots, replaced by `caBundle` inside when it exists on the host.
    public static let systemCABundle = "/etc/ssl/certs/ca-certificates.crt"
    /// The agent's user and group id inside a sandbox a server that is not root made.
    public static let uid: UInt32 = 1000
}
