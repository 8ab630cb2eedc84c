import Foundation

/// A Managed Agents `deployment_run`: the append-only record of one execution of a
/// deployment. It records whether a session was created (`session_id`) or why not (`error`),
/// exactly one of the two; it does not follow the session afterwards.
public struct DeploymentRun: Codable, Sendable, Equatable {
    public var id: String
    public var deploymentID: String
    /// The agent at fire time.
    public var agent: AgentReference
    public var createdAt: Date
    public var sessionID: String?
    public var error: DeploymentRunError?
    public var trigger: DeploymentTrigger

    public init(id: String, deploymentID: String, agent: AgentReference, createdAt: Date, trigger: DeploymentTrigger) {
        self.id = id
        self.deploymentID = deploymentID
        self.agent = agent
        self.createdAt = createdAt
        self.trigger = trigger
    }

    enum CodingKeys: String, CodingKey {
        case id, type, agent, error
        case deploymentID = "deployment_id"
        case createdAt = "created_at"
        case sessionID = "session_id"
        case trigger = "trigger_context"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        deploymentID = try container.decode(String.self, forKey: .deploymentID)
        agent = try container.decode(AgentReference.self, forKey: .agent)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        sessionID = try container.decodeIfPresent(String.self, forKey: .sessionID)
        error = try container.decodeIfPresent(DeploymentRunError.self, forKey: .error)
        trigger = try container.decode(DeploymentTrigger.self, forKey: .trigger)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("deployment_run", forKey: .type)
        try container.encode(deploymentID, forKey: .deploymentID)
        try container.encode(agent, forKey: .agent)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(sessionID, forKey: .sessionID)
        try container.encode(error, forKey: .error)
        try container.encode(trigger, forKey: .trigger)
    }
}

/// What fired a run: the cron schedule (with the occurrence it fired for) or a `run` call.
public enum DeploymentTrigger: Codable, Sendable, Equatable {
    /// The UTC instant the expression matched, before jitter. At most one run exists per
    /// deployment and instant.
    case schedule(scheduledAt: Date)
    case manual

    /// `schedule` or `manual`.
    public var type: String {
        switch self {
        case .schedule: "schedule"
        case .manual: "manual"
        }
    }

    public var scheduledAt: Date? {
        if case .schedule(let date) = self { date } else { nil }
    }

    enum CodingKeys: String, CodingKey {
        case type
        case scheduledAt = "scheduled_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if try container.decode(String.self, forKey: .type) == "schedule" {
            self = .schedule(scheduledAt: try container.decode(Date.self, forKey: .scheduledAt))
        } else {
            self = .manual
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(type, forKey: .type)
        if let scheduledAt { try container.encode(scheduledAt, forKey: .scheduledAt) }
    }
}

/// Why a run created no session, with one of the SDK's run error types.
public struct DeploymentRunError: Codable, Sendable, Equatable {
    public var type: String
    public var message: String

    public init(type: String, message: String) {
        self.type = type
        self.message = message
    }

    /// Error types that will not go away by trying again: a deployment whose run fails with
    /// one of these is paused (`paused_reason.type: error`) until someone fixes it and unpauses.
    public static let nonRecoverable: Set<String> = [
        "agent_archived_error", "environment_archived_error", "environment_not_found_error", "vault_not_found_error",
        "vault_archived_error", "file_not_found_error", "memory_store_archived_error", "skill_not_found_error",
        "session_resource_not_found_error", "self_hosted_resources_unsupported_error", "mcp_egress_blocked_error",
    ]

    public var isRecoverable: Bool { !Self.nonRecoverable.contains(type) }
}

/// Filters for listing deployment runs.
public struct DeploymentRunFilter: Sendable, Equatable {
    public var deploymentID: String?
    public var createdAt: TimeRange
    /// true: only failed runs; false: only runs that created a session.
    public var hasError: Bool?
    /// `schedule` or `manual`.
    public var triggerType: String?

    public init(deploymentID: String? = nil, createdAt: TimeRange = .unbounded, hasError: Bool? = nil, triggerType: String? = nil) {
        self.deploymentID = deploymentID
        self.createdAt = createdAt
        self.hasError = hasError
        self.triggerType = triggerType
    }
}

/// Filters for listing deployments.
public struct DeploymentFilter: Sendable, Equatable {
    public var agentID: String?
    public var createdAt: TimeRange
    public var includeArchived: Bool
    public var status: DeploymentStatus?

    public init(agentID: String? = nil, createdAt: TimeRange = .unbounded, includeArchived: Bool = false, status: DeploymentStatus? = nil) {
        self.agentID = agentID
        self.createdAt = createdAt
        self.includeArchived = includeArchived
        self.status = status
    }
}
