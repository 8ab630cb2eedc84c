import ReverieCore

/// Where a session's (or thread's) turn stands, read from its event log: which tool calls
/// still wait for a result or a confirmation, and whether the model should be called next.
///
/// The session loop keeps no state of its own: after a restart it reads the log, builds
/// this, and carries on from exactly the same point.
public struct TurnState: Sendable, Equatable {
    /// A tool call the model made that has no result yet.
    public struct PendingCall: Sendable, Equatable {
        public var eventID: String
        public var name: String
        public var input: JSONValue
        /// True for custom tools (the client runs them).
        public var isCustom: Bool
        /// The user's answer, for calls that needed confirmation.
        public var confirmation: Confirmation?
        /// True when the call's `evaluated_permission` was `ask` (it waits for a confirmation).
        public var asksConfirmation: Bool = false
        /// True for an MCP server's tool (`agent.mcp_tool_use`; `name` is the model-facing name).
        public var isMCP: Bool = false
    }

    public enum Confirmation: Sendable, Equatable {
        case allow
        case deny(message: String?)
    }

    /// What to do next.
    public enum Next: Sendable, Equatable {
        /// Ask the model (new user input or tool results are waiting for it).
        case callModel
        /// Run, deny or wait on the pending tool calls.
        case handleCalls
        /// The agent finished its turn; nothing waits.
        case turnEnded
    }

    /// Tool calls without a result, oldest first.
    public var pending: [PendingCall] { order.compactMap { calls[$0] } }
    /// What to do next.
    public var next: Next {
        if !calls.isEmpty { return .handleCalls }
        switch lastRelevant {
        case .userMessage?, .userDefineOutcome?, .agentToolResult?, .agentMCPToolResult?, .userToolResult?, .userCustomToolResult?, .spanOutcomeEvaluationEnd?,
            .agentThreadMessageReceived?:
            return .callModel
        default:
            return .turnEnded
        }
    }
    /// The id of the model request that started and never ended (a crash or interrupt mid-call).
    public private(set) var openModelRequestID: String?

    private var calls: [String: PendingCall] = [:]
    /// Ids of the calls in `calls`, in the order they were made.
    private var order: [String] = []
    private var lastRelevant: EventType?

    public init(events: [SessionEvent]) {
        for event in events { apply(event) }
    }

    /// Folds one more event of the log in (the loop keeps its state up to date this way).
    public mutating func apply(_ event: SessionEvent) {
        switch event.type {
        case .agentToolUse, .agentCustomToolUse:
            if calls[event.id] == nil { order.append(event.id) }
            calls[event.id] = PendingCall(
                eventID: event.id, name: event.fields["name"]?.stringValue ?? "", input: event.fields["input"] ?? [:],
                isCustom: event.type == .agentCustomToolUse, confirmation: nil,
                asksConfirmation: event.fields["evaluated_permission"] == "ask")
            lastRelevant = event.type
        case .agentMCPToolUse:
            if calls[event.id] == nil { order.append(event.id) }
            calls[event.id] = PendingCall(
                eventID: event.id,
                name: MCPToolNaming.modelName(server: event.fields["mcp_server_name"]?.stringValue ?? "", tool: event.fields["name"]?.stringValue ?? ""),
                input: event.fields["input"] ?? [:], isCustom: false, confirmation: nil, asksConfirmation: event.fields["evaluated_permission"] == "ask",
                isMCP: true)
            lastRelevant = event.type
        case .agentMCPToolResult:
            if let id = event.fields["mcp_tool_use_id"]?.stringValue { answer(id) }
            lastRelevant = event.type
        case .agentToolResult, .userToolResult:
            if let id = event.fields["tool_use_id"]?.stringValue { answer(id) }
            lastRelevant = event.type
        case .userCustomToolResult:
            if let id = event.fields["custom_tool_use_id"]?.stringValue { answer(id) }
            lastRelevant = event.type
        case .userToolConfirmation:
            if let id = event.fields["tool_use_id"]?.stringValue, calls[id] != nil {
                calls[id]?.confirmation =
                    event.fields["result"] == "allow" ? .allow : .deny(message: event.fields["deny_message"]?.stringValue)
            }
        case .userMessage, .userDefineOutcome, .agentMessage, .agentThreadMessageReceived:
            lastRelevant = event.type
        case .spanOutcomeEvaluationEnd:
            // The agent revises, or acknowledges that the evaluation budget is used up.
            if event.fields["result"] == "needs_revision" || event.fields["result"] == "max_iterations_reached" { lastRelevant = event.type }
        case .spanModelRequestStart:
            openModelRequestID = event.id
        case .spanModelRequestEnd:
            openModelRequestID = nil
        default:
            break
        }
    }

    private mutating func answer(_ id: String) {
        guard calls.removeValue(forKey: id) != nil else { return }
        if let index = order.lastIndex(of: id) { order.remove(at: index) }
    }
}
