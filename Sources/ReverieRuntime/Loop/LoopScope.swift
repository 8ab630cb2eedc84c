import ReverieCore

/// Which thread of a session an `AgentLoop` drives, and what differs between the primary
/// thread and a coordinator's child threads: the status events it writes, the words of its
/// messages, and where its final reply goes.
struct LoopScope: Sendable {
    /// The child thread's id; nil for the session's primary thread.
    let threadID: String?
    /// A child thread's coordinator thread, which receives its final reply.
    let parentThreadID: String?
    /// A child thread's agent name (carried by its status events).
    let agentName: String?

    /// The session's primary thread.
    static let primary = LoopScope(threadID: nil, parentThreadID: nil, agentName: nil)

    /// A coordinator's child thread.
    static func thread(_ id: String, parent: String, agentName: String) -> LoopScope {
        LoopScope(threadID: id, parentThreadID: parent, agentName: agentName)
    }

    var isPrimary: Bool { threadID == nil }

    /// "session" or "thread", in messages the client sees.
    var noun: String { isPrimary ? "session" : "thread" }

    /// `session.status_running`, or `session.thread_status_running` for a child thread.
    func runningEvent() -> SessionEvent {
        isPrimary ? SessionEvent(type: .sessionStatusRunning) : SessionEvent(type: .sessionThreadStatusRunning, fields: agentFields)
    }

    /// `session.status_idle` (or `session.thread_status_idle`) with its stop reason.
    func idleEvent(_ stopReason: JSONValue) -> SessionEvent {
        var fields = agentFields
        fields["stop_reason"] = stopReason
        return SessionEvent(type: isPrimary ? .sessionStatusIdle : .sessionThreadStatusIdle, fields: fields)
    }

    private var agentFields: [String: JSONValue] {
        agentName.map { ["agent_name": .string($0)] } ?? [:]
    }
}
