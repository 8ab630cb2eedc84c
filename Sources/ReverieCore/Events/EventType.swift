/// The `type` of a session event (`user.message`, `agent.tool_use`, …).
public struct EventType: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { self.rawValue = value }
    public var description: String { rawValue }

    public static let userMessage: EventType = "user.message"
    public static let userInterrupt: EventType = "user.interrupt"
    public static let userToolConfirmation: EventType = "user.tool_confirmation"
    public static let userCustomToolResult: EventType = "user.custom_tool_result"
    public static let userDefineOutcome: EventType = "user.define_outcome"
    public static let userToolResult: EventType = "user.tool_result"
    public static let systemMessage: EventType = "system.message"

    public static let agentMessage: EventType = "agent.message"
    public static let agentThinking: EventType = "agent.thinking"
    public static let agentToolUse: EventType = "agent.tool_use"
    public static let agentToolResult: EventType = "agent.tool_result"
    public static let agentCustomToolUse: EventType = "agent.custom_tool_use"
    public static let agentMCPToolUse: EventType = "agent.mcp_tool_use"
    public static let agentMCPToolResult: EventType = "agent.mcp_tool_result"
    public static let agentThreadMessageSent: EventType = "agent.thread_message_sent"
    public static let agentThreadMessageReceived: EventType = "agent.thread_message_received"
    public static let agentThreadContextCompacted: EventType = "agent.thread_context_compacted"

    public static let sessionError: EventType = "session.error"
    public static let sessionStatusRunning: EventType = "session.status_running"
    public static let sessionStatusIdle: EventType = "session.status_idle"
    public static let sessionStatusRescheduled: EventType = "session.status_rescheduled"
    public static let sessionStatusTerminated: EventType = "session.status_terminated"
    public static let sessionDeleted: EventType = "session.deleted"
    public static let sessionUpdated: EventType = "session.updated"
    public static let sessionUsage: EventType = "session.usage"
    public static let sessionThreadCreated: EventType = "session.thread_created"
    public static let sessionThreadStatusRunning: EventType = "session.thread_status_running"
    public static let sessionThreadStatusIdle: EventType = "session.thread_status_idle"
    public static let sessionThreadStatusTerminated: EventType = "session.thread_status_terminated"
    public static let sessionThreadStatusRescheduled: EventType = "session.thread_status_rescheduled"

    public static let spanModelRequestStart: EventType = "span.model_request_start"
    public static let spanModelRequestEnd: EventType = "span.model_request_end"
    public static let spanOutcomeEvaluationStart: EventType = "span.outcome_evaluation_start"
    public static let spanOutcomeEvaluationOngoing: EventType = "span.outcome_evaluation_ongoing"
    public static let spanOutcomeEvaluationEnd: EventType = "span.outcome_evaluation_end"

    /// Every event type the API defines (the `types` filter of event listing accepts these).
    public static let all: Set<EventType> = [
        userMessage, userInterrupt, userToolConfirmation, userCustomToolResult, userDefineOutcome, userToolResult, systemMessage,
        agentMessage, agentThinking, agentToolUse, agentToolResult, agentCustomToolUse, agentMCPToolUse, agentMCPToolResult,
        agentThreadMessageSent, agentThreadMessageReceived, agentThreadContextCompacted,
        sessionError, sessionStatusRunning, sessionStatusIdle, sessionStatusRescheduled, sessionStatusTerminated, sessionDeleted,
        sessionUpdated, sessionUsage, sessionThreadCreated, sessionThreadStatusRunning, sessionThreadStatusIdle,
        sessionThreadStatusTerminated, sessionThreadStatusRescheduled,
        spanModelRequestStart, spanModelRequestEnd, spanOutcomeEvaluationStart, spanOutcomeEvaluationOngoing, spanOutcomeEvaluationEnd,
        "workflow_run.created", "workflow_run.status_running", "workflow_run.status_idle", "workflow_run.status_ended",
        "workflow_run.error", "workflow_run.phase_started", "workflow_run.phase_ended",
    ]

    /// The types a client may send.
    public static let sendable: Set<EventType> = [
        userMessage, userInterrupt, userToolConfirmation, userCustomToolResult, userDefineOutcome, userToolResult, systemMessage,
    ]
}
