import Foundation

/// A deployment as clients read it: the stored form plus the computed `status` and, for a
/// schedule, `upcoming_runs_at` (empty once archived).
public struct DeploymentResponse: Encodable, Sendable {
    public var deployment: Deployment
    public var upcomingRuns: [Date]

    public init(_ deployment: Deployment, upcomingRuns: [Date]) {
        self.deployment = deployment
        self.upcomingRuns = upcomingRuns
    }

    enum CodingKeys: String, CodingKey {
        case id, type, name, description, agent, resources, budget, metadata, schedule, status
        case environmentID = "environment_id"
        case initialEvents = "initial_events"
        case vaultIDs = "vault_ids"
        case pausedReason = "paused_reason"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case archivedAt = "archived_at"
    }

    enum ScheduleKeys: String, CodingKey {
        case type, expression, timezone
        case lastRunAt = "last_run_at"
        case upcomingRunsAt = "upcoming_runs_at"
    }

    public func encode(to encoder: any Encoder) throws {
        let d = deployment
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(d.id, forKey: .id)
        try container.encode("deployment", forKey: .type)
        try container.encode(d.name, forKey: .name)
        try container.encode(d.description, forKey: .description)
        try container.encode(d.agent, forKey: .agent)
        try container.encode(d.environmentID, forKey: .environmentID)
        try container.encode(d.initialEvents, forKey: .initialEvents)
        try container.encode(d.resources, forKey: .resources)
        try container.encode(d.vaultIDs, forKey: .vaultIDs)
        try container.encodeIfPresent(d.budget, forKey: .budget)
        try container.encode(d.metadata, forKey: .metadata)
        try container.encode(d.status, forKey: .status)
        try container.encode(d.pausedReason, forKey: .pausedReason)
        if let schedule = d.schedule {
            var nested = container.nestedContainer(keyedBy: ScheduleKeys.self, forKey: .schedule)
            try nested.encode("cron", forKey: .type)
            try nested.encode(schedule.cron.expression, forKey: .expression)
            try nested.encode(schedule.timezone, forKey: .timezone)
            try nested.encode(schedule.lastRunAt, forKey: .lastRunAt)
            try nested.encode(upcomingRuns, forKey: .upcomingRunsAt)
        } else {
            try container.encodeNil(forKey: .schedule)
        }
        try container.encode(d.createdAt, forKey: .createdAt)
        try container.encode(d.updatedAt, forKey: .updatedAt)
        try container.encode(d.archivedAt, forKey: .archivedAt)
    }
}
