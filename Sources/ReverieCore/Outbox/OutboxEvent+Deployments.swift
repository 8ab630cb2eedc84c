import Foundation

extension OutboxEvent {
    /// What a change to a deployment announces: `deployment.archived`, `.paused`, `.unpaused`,
    /// or `.updated` when the client changed it (`updated_at` moved). The scheduler's own
    /// bookkeeping (the next fire time) announces nothing.
    public static func forDeploymentChange(from before: Deployment, to after: Deployment) -> [OutboxEvent] {
        let type: String
        if before.archivedAt == nil, let archivedAt = after.archivedAt {
            return [OutboxEvent(type: "deployment.archived", resourceID: after.id, createdAt: archivedAt)]
        } else if before.pausedReason == nil, after.pausedReason != nil {
            type = "deployment.paused"
        } else if before.pausedReason != nil, after.pausedReason == nil {
            type = "deployment.unpaused"
        } else if before.updatedAt != after.updatedAt {
            type = "deployment.updated"
        } else {
            return []
        }
        return [OutboxEvent(type: type, resourceID: after.id, createdAt: after.updatedAt)]
    }

    /// What recording a run announces: `deployment_run.started`, then `deployment_run.succeeded`
    /// (a session was created) or `deployment_run.failed`.
    public static func forDeploymentRun(_ run: DeploymentRun) -> [OutboxEvent] {
        [
            OutboxEvent(type: "deployment_run.started", resourceID: run.id, createdAt: run.createdAt),
            OutboxEvent(type: run.error == nil ? "deployment_run.succeeded" : "deployment_run.failed", resourceID: run.id, createdAt: run.createdAt),
        ]
    }
}
