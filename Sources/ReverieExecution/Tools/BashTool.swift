import Foundation
import ReverieCore
import ReverieModels

/// `bash`: runs commands in the sandbox's persistent shell (`BashSession`).
public struct BashTool: SandboxTool {
    public struct Configuration: Sendable {
        /// The timeout when a call gives none (or 0).
        public var defaultTimeout: Duration
        /// The longest timeout a call may ask for; longer ones are cut to this.
        public var maxTimeout: Duration
        /// How much of a command's output the result holds; the full output goes to a file.
        public var outputLimits: ToolOutputLimits
        /// Variables added to (or overriding) the shell's minimal environment.
        public var environment: [String: String]
        /// The shell and its arguments.
        public var arguments: [String]
        /// How much of one command's output is kept in memory at most.
        public var retainedBytes: Int

        public init(defaultTimeout: Duration = .seconds(120), maxTimeout: Duration = .seconds(600),
                    outputLimits: ToolOutputLimits = ToolOutputLimits(maxCharacters: 30_000, headCharacters: 10_000, tailCharacters: 20_000),
                    environment: [String: String] = [:], arguments: [String] = ["/bin/bash", "--noprofile", "--norc"],
                    retainedBytes: Int = 8 << 20) {
            self.defaultTimeout = defaultTimeout
            self.maxTimeout = max(maxTimeout, defaultTimeout)
            self.outputLimits = outputLimits
            self.environment = environment
            self.arguments = arguments
            self.retainedBytes = retainedBytes
        }

        /// The shell's environment: a minimal one, with `environment` added.
        public func shellEnvironment(home: String) -> [String: String] {
            var shell: [String: String] = [
                "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME": home,
                "LANG": "C.UTF-8",
                "TERM": "dumb",
                "PAGER": "cat",
                "GIT_PAGER": "cat",
                "SHELL": arguments.first ?? "/bin/bash",
            ]
            shell.merge(environment) { _, added in added }
            return shell
        }
    }

    /// The key the shell is attached under in the sandbox.
    public static let resourceKey = "bash"

    public var configuration: Configuration

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public var definition: ToolDefinition {
        let cap = configuration.outputLimits.maxCharacters
        return ToolDefinition(
            name: BuiltinToolName.bash.rawValue,
            description: """
                Run a command in a persistent bash shell. The shell keeps its state between calls: the \
                working directory (it starts in /workspace), environment variables and functions. stdout \
                and stderr are returned together, followed by the exit code. Commands get no input (stdin \
                is /dev/null), so don't start interactive programs; pass flags like -y instead. \
                Timeout: \(Self.seconds(configuration.defaultTimeout)) s by default, up to \
                \(Self.seconds(configuration.maxTimeout)) s via timeout_ms; on timeout the command and \
                everything it started are killed and the shell is restarted (state is lost). Output over \
                \(cap) characters is cut to its beginning and end, and the full output is saved to a file \
                under \(ToolOutputLimits.folder) whose path the result gives. restart: true starts a fresh \
                shell. /workspace, /mnt/session/outputs and the mounted memory stores (/mnt/memory/...) \
                are ordinary folders here.
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "command": ["type": "string", "description": "Shell command to execute. Omit only when restart is true."],
                    "restart": ["type": "boolean", "description": "Restart the bash session (fresh shell, state lost) instead of, or before, running a command."],
                    "timeout_ms": ["type": "integer", "description": .string("Timeout for this call in milliseconds (default \(Self.milliseconds(configuration.defaultTimeout)), at most \(Self.milliseconds(configuration.maxTimeout))).")],
                ],
            ])
    }

    public func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        await guarded(in: sandbox) { () async throws(SandboxError) -> ToolOutput in
            let input = try ToolInput(input, tool: "bash")
            let command = try input.optionalString("command")
            let restart = try input.optionalBool("restart") ?? false
            let timeoutMS = try input.optionalInt("timeout_ms") ?? 0
            guard command != nil || restart else { throw SandboxError("bash: command is required (or restart: true to restart the shell)") }
            let session = try self.session(in: sandbox)
            var notes: [String] = []
            if restart {
                try await session.restart()
                let message = "The bash session was restarted: a fresh shell in /workspace; earlier directory changes, variables and background processes are gone."
                guard let command, !command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return .text(message) }
                notes.append(message)
            }
            guard let command, !command.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw SandboxError("bash: command is empty")
            }
            var timeout = timeoutMS > 0 ? Duration.milliseconds(timeoutMS) : configuration.defaultTimeout
            if timeout > configuration.maxTimeout {
                timeout = configuration.maxTimeout
                notes.append("timeout_ms \(timeoutMS) is over the maximum; the command ran with a \(Self.seconds(timeout)) s timeout.")
            }

            let paths = BashPaths(sandbox: sandbox)
            let result = try await session.run(paths.hostCommand(command), timeout: timeout)
            var output = paths.virtualOutput(result.output)
            if result.droppedBytes > 0 {
                output += "\n[\(result.droppedBytes) bytes from the middle of this output were discarded: at most \(configuration.retainedBytes >> 20) MB of a command's output is kept.]"
            }
            output = await configuration.outputLimits.limit(output, in: sandbox)
            if !output.isEmpty && !output.hasSuffix("\n") { output += "\n" }
            let shown = output.isEmpty ? "(no output)\n" : output
            let prefix = notes.map { "[\($0)]\n" }.joined()
            switch result.ending {
            case .exited(let status):
                return .text(prefix + shown + "Exit code: \(status)")
            case .timedOut:
                return .error(prefix + shown + """
                    Timed out after \(Self.seconds(timeout)) s: the command and every process it started were killed, and the \
                    bash session was restarted (working directory and environment are reset). Use a larger timeout_ms \
                    (max \(Self.seconds(configuration.maxTimeout)) s), or run long jobs in the background with output to a file.
                    """)
            case .cancelled:
                return .error(prefix + shown + "Interrupted: the command and every process it started were killed, and the bash session was restarted.")
            case .shellExited(let status):
                let code = status.map { " with exit code \($0)" } ?? ""
                let message = prefix + shown + "The shell exited\(code) (did the command run `exit` or `exec`?). The next command starts a fresh shell in /workspace."
                return ToolOutput(content: [.text(message)], isError: status != 0)
            }
        }
    }

    /// The sandbox's shell, attached on first use.
    private func session(in sandbox: Sandbox) throws(SandboxError) -> BashSession {
        guard let workspace = sandbox.workspace.hostRoot else { throw SandboxError("bash: the workspace is not on disk") }
        let settings = BashSession.Configuration(
            arguments: configuration.arguments, environment: configuration.shellEnvironment(home: workspace.path),
            retainedBytes: configuration.retainedBytes)
        return try sandbox.resource(Self.resourceKey) { BashSession(workingDirectory: workspace, configuration: settings) }
    }

    static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }

    /// A duration in seconds, without a fraction when whole ("120", "0.5").
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        if attoseconds == 0 { return String(seconds) }
        let value = Double(seconds) + Double(attoseconds) / 1e18
        return String(format: "%.3g", value)
    }
}
