import Foundation

/// A Managed Agents `deployment`: an agent bound to an environment, the events each of its
/// sessions starts with, resources, vaults, an optional spend ceiling and an optional cron
/// schedule. Each execution (scheduled or manual) is recorded as a `DeploymentRun`.
///
/// This is the stored form; `DeploymentResponse` is what clients read (it adds the
/// computed `status` and the schedule's `upcoming_runs_at`).
public struct Deployment: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    /// The agent, pinned to a version.
    public var agent: AgentReference
    public var environmentID: String
    /// `user.message`, `user.define_outcome` and `system.message` events, as the client sent them.
    public var initialEvents: [JSONValue]
    /// Session resources, as the client sent them.
    public var resources: [JSONValue]
    public var vaultIDs: [String]
    public var budget: SessionBudget?
    public var metadata: [String: String]
    public var schedule: DeploymentSchedule?
    /// Set exactly when the deployment is paused.
    public var pausedReason: DeploymentPausedReason?
    public var createdAt: Date
    public var updatedAt: Date
    public var archivedAt: Date?
    /// The next cron occurrence (before jitter) the scheduler will fire; nil when there is no
    /// schedule, or the deployment is paused or archived. Internal bookkeeping, never shown.
    public var nextFireAt: Date?

    public init(
        id: String, name: String, description: String?, agent: AgentReference, environmentID: String, initialEvents: [JSONValue],
        resources: [JSONValue], vaultIDs: [String], budget: SessionBudget?, metadata: [String: String], schedule: DeploymentSchedule?,
        createdAt: Date
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.agent = agent
        self.environmentID = environmentID
        self.initialEvents = initialEvents
        self.resources = resources
        self.vaultIDs = vaultIDs
        self.budget = budget
        self.metadata = metadata
        self.schedule = schedule
        self.createdAt = createdAt
        self.updatedAt = createdAt
    }

    /// `active` or `paused`; archived deployments report `active` with `archived_at` set.
    public var status: DeploymentStatus { pausedReason == nil ? .active : .paused }

    /// Whether the scheduler may fire it: scheduled, not paused, not archived.
    public var firesOnSchedule: Bool { schedule != nil && pausedReason == nil && archivedAt == nil }

    enum CodingKeys: String, CodingKey {
        case id, name, description, agent, resources, budget, metadata, schedule
        case environmentID = "environment_id"
        case initialEvents = "initial_events"
        case vaultIDs = "vault_ids"
        case pausedReason = "paused_reason"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case archivedAt = "archived_at"
        case nextFireAt = "next_fire_at"
    }
}

/// `active` or `paused`.
public enum DeploymentStatus: String, Codable, Sendable {
    case active, paused
}

/// Why a deployment is paused: by hand, or automatically after a run failed in a way that
/// will not fix itself (the agent or environment was archived, a resource is gone, …).
public enum DeploymentPausedReason: Codable, Sendable, Equatable {
    case manual
    /// The error type, e.g. `agent_archived_error`.
    case error(String)

    enum CodingKeys: String, CodingKey { case type, error }
    enum ErrorKeys: String, CodingKey { case type }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if try container.decode(String.self, forKey: .type) == "error" {
            self = .error(try container.nestedContainer(keyedBy: ErrorKeys.self, forKey: .error).decode(String.self, forKey: .type))
        } else {
            self = .manual
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .manual:
            try container.encode("manual", forKey: .type)
        case .error(let type):
            try container.encode("error", forKey: .type)
            var error = container.nestedContainer(keyedBy: ErrorKeys.self, forKey: .error)
            try error.encode(type, forKey: .type)
        }
    }
}
