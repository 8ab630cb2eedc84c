import ReverieCore
import ReverieModels

/// The plane of a server whose sandbox could not be made: every built-in tool call is refused
/// with the reason and what to do, rather than run without isolation.
public struct RefusingExecutionPlane: ExecutionPlane {
    public let tools: [String: ToolDefinition]
    let reason: String

    public init(tools: [String: ToolDefinition], reason: String) {
        self.tools = tools
        self.reason = reason
    }

    public func runCheck(_ command: String, timeout: Duration) async -> CheckResult {
        .notRun("not run: this server cannot isolate tools (\(reason))")
    }

    public func execute(_ call: ToolCall) async -> ToolOutput {
        .error("""
            The tool was not run: this server cannot isolate tools (\(reason)). An operator must install bubblewrap \
            (Debian/Ubuntu: apt-get install bubblewrap) and restart the server, or start it with --sandbox none (unsafe, development only).
            """)
    }
}
