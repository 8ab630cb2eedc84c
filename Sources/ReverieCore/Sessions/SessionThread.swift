import Foundation

/// A `session_thread`: one execution thread of a session. The primary thread runs the
/// session's own agent; child threads run a coordinator's specialists, each with its own
/// conversation, sharing the session's sandbox.
///
/// `status`, `usage` and `stats` are derived from the thread's events (`state`), which
/// the store folds in the transaction that appends them.
public struct SessionThread: Sendable, Equatable {
    public var id: String
    public var sessionID: String
    /// The agent the thread runs (a snapshot; its roster is not repeated here).
    public var agent: SessionAgent
    /// The thread that started this one; nil for the primary thread.
    public var parentThreadID: String?
    public var state: SessionThreadState
    public var createdAt: Date
    public var archivedAt: Date?

    public init(id: String, sessionID: String, agent: SessionAgent, parentThreadID: String?, state: SessionThreadState,
                createdAt: Date, archivedAt: Date? = nil) {
        var snapshot = agent
        snapshot.roster = nil
        snapshot.otherMultiagent = nil
        self.id = id
        self.sessionID = sessionID
        self.agent = snapshot
        self.parentThreadID = parentThreadID
        self.state = state
        self.createdAt = createdAt
        self.archivedAt = archivedAt
    }

    /// Whether this is the session's primary thread.
    public var isPrimary: Bool { parentThreadID == nil }

    public var status: SessionStatus { state.status }

    /// The wire shape (`BetaManagedAgentsSessionThread`), with `stats` computed as of `now`.
    public func json(now: Date = Date()) throws -> JSONValue {
        var agentJSON = try JSONCoding.value(agent)
        if case .object(var object) = agentJSON {
            object["multiagent"] = nil
            agentJSON = .object(object)
        }
        var active = state.activeSeconds
        if let since = state.runningSince { active += max(0, now.timeIntervalSince(since)) }
        let end = archivedAt ?? now
        var object: [String: JSONValue] = [
            "id": .string(id), "type": "session_thread", "session_id": .string(sessionID), "agent": agentJSON,
            "parent_thread_id": parentThreadID.map(JSONValue.string) ?? .null, "status": .string(state.status.rawValue),
            "created_at": .string(Timestamp.format(createdAt)), "updated_at": .string(Timestamp.format(max(createdAt, state.updatedAt))),
            "archived_at": archivedAt.map { .string(Timestamp.format($0)) } ?? .null,
            "workflow_run_id": .null,
        ]
        let stats: JSONValue = state.started
            ? ["active_seconds": .double(active), "duration_seconds": .double(max(0, end.timeIntervalSince(createdAt))), "startup_seconds": .double(0)]
            : .null
        let usage: JSONValue = state.everIdle
            ? [
                "input_tokens": .int(Int64(state.usage.inputTokens)), "output_tokens": .int(Int64(state.usage.outputTokens)),
                "cache_read_input_tokens": .int(Int64(state.usage.cacheReadInputTokens)),
                "cache_creation": [
                    "ephemeral_5m_input_tokens": .int(Int64(state.usage.cacheCreationInputTokens)), "ephemeral_1h_input_tokens": .int(0),
                ],
                "active_seconds": .double(active),
            ]
            : .null
        object["stats"] = stats
        object["usage"] = usage
        return .object(object)
    }
}

/// The part of a thread derived from its events: status, token usage and timing.
public struct SessionThreadState: Sendable, Equatable, Codable {
    public var status: SessionStatus
    public var usage: SessionUsage
    public var activeSeconds: Double
    public var runningSince: Date?
    /// Whether the thread has changed status at least once (`stats` is null before).
    public var started: Bool
    /// Whether the thread has gone idle at least once (`usage` is null before).
    public var everIdle: Bool
    public var updatedAt: Date

    public init(status: SessionStatus = .idle, usage: SessionUsage = SessionUsage(), activeSeconds: Double = 0, runningSince: Date? = nil,
                started: Bool = false, everIdle: Bool = false, updatedAt: Date) {
        self.status = status
        self.usage = usage
        self.activeSeconds = activeSeconds
        self.runningSince = runningSince
        self.started = started
        self.everIdle = everIdle
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case status, usage, started
        case activeSeconds = "active_seconds"
        case runningSince = "running_since"
        case everIdle = "ever_idle"
        case updatedAt = "updated_at"
    }

    /// The primary thread's state, taken from its session's state.
    public init(primaryOf session: SessionState, usage: SessionUsage) {
        self.init(
            status: session.status, usage: usage, activeSeconds: session.activeSeconds, runningSince: session.runningSince,
            started: true, everIdle: true, updatedAt: session.updatedAt)
    }

    /// Folds one event of this thread into the state. Child threads change status through
    /// `session.thread_status_*`; the primary thread follows `session.status_*`.
    public mutating func apply(_ event: SessionEvent) {
        updatedAt = max(updatedAt, event.processedAt)
        switch event.type {
        case .sessionThreadStatusRunning, .sessionStatusRunning:
            if status != .running { runningSince = event.processedAt }
            status = .running
            started = true
        case .sessionThreadStatusRescheduled, .sessionStatusRescheduled:
            status = .rescheduling
            started = true
        case .sessionThreadStatusIdle, .sessionThreadStatusTerminated, .sessionStatusIdle, .sessionStatusTerminated:
            if let since = runningSince { activeSeconds += max(0, event.processedAt.timeIntervalSince(since)) }
            runningSince = nil
            let idle = event.type == .sessionThreadStatusIdle || event.type == .sessionStatusIdle
            status = idle ? .idle : .terminated
            started = true
            everIdle = true
        case .spanModelRequestEnd:
            if let usage = event.fields["model_usage"] {
                self.usage.add(SessionUsage(
                    inputTokens: Int(usage["input_tokens"]?.intValue ?? 0),
                    outputTokens: Int(usage["output_tokens"]?.intValue ?? 0),
                    cacheReadInputTokens: Int(usage["cache_read_input_tokens"]?.intValue ?? 0),
                    cacheCreationInputTokens: Int(usage["cache_creation_input_tokens"]?.intValue ?? 0),
                    listCostMicros: event.fields["list_cost_micros"]?.intValue ?? 0))
            }
        default:
            break
        }
    }
}
