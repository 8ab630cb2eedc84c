import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    /// The columns a deployment is read from, with `last_run_at` taken from its runs.
    private static let deploymentColumns = """
        id, created_at, body, (SELECT MAX(r.created_at) FROM deployment_runs r
            WHERE r.deployment_id = deployments.id AND r.scheduled_at IS NOT NULL AND r.session_id IS NOT NULL) AS last_run_at
        """

    public func createDeployment(_ deployment: Deployment) async throws {
        let arguments = try Self.deploymentArguments(deployment)
        try await write { db in
            try await db.execute(
                "INSERT INTO deployments (created_at, archived_at, agent_id, paused, next_fire_at, body, id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments + [deployment.id])
            try await Self.enqueue([OutboxEvent(type: "deployment.created", resourceID: deployment.id, createdAt: deployment.createdAt)], db)
        }
    }

    public func deployment(id: String) async throws -> Deployment? {
        try await read { db in try await Self.fetchDeployment(id: id, lock: false, db) }
    }

    public func updateDeployment(id: String, _ change: @Sendable (Deployment) throws -> Deployment) async throws -> Deployment {
        try await write { db in
            guard let current = try await Self.fetchDeployment(id: id, lock: true, db) else { throw APIError.notFound("deployment", id) }
            var next = try change(current)
            next.schedule?.lastRunAt = current.schedule?.lastRunAt
            guard next != current else { return current }
            try await db.execute(
                "UPDATE deployments SET created_at = ?, archived_at = ?, agent_id = ?, paused = ?, next_fire_at = ?, body = ? WHERE id = ?",
                try Self.deploymentArguments(next) + [id])
            try await Self.enqueue(OutboxEvent.forDeploymentChange(from: current, to: next), db)
            return next
        }
    }

    public func listDeployments(_ filter: DeploymentFilter, page: PageRequest) async throws -> Page<Deployment> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            if !filter.includeArchived { query.filter("archived_at IS NULL") }
            if let agentID = filter.agentID { query.filter("agent_id = ?", [agentID]) }
            if let status = filter.status { query.filter("paused = ?", [status == .paused]) }
            query.filter(filter.createdAt, column: "created_at")
            return try await query.page(
                db, from: "deployments", select: Self.deploymentColumns, page: page, decode: Self.deployment,
                position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func dueDeployments(at time: Date, limit: Int) async throws -> [Deployment] {
        try await read { db in
            try await db.fetchAll(
                "SELECT \(Self.deploymentColumns) FROM deployments WHERE next_fire_at IS NOT NULL AND next_fire_at <= ? ORDER BY next_fire_at LIMIT ?",
                [Timestamp.micros(time), limit]
            ).map(Self.deployment)
        }
    }

    public func recordDeploymentRun(_ run: DeploymentRun) async throws -> Bool {
        try await write { db in
            let inserted = try await Self.insertDeploymentRun(run, ifAbsent: true, db)
            return inserted
        }
    }

    public func deploymentRun(deploymentID: String, scheduledAt: Date) async throws -> DeploymentRun? {
        try await read { db in
            try await db.scalar(
                String.self, "SELECT body FROM deployment_runs WHERE deployment_id = ? AND scheduled_at = ?", [deploymentID, Timestamp.micros(scheduledAt)]
            ).map { try Self.decode(DeploymentRun.self, $0) }
        }
    }

    public func deploymentRun(id: String) async throws -> DeploymentRun? {
        try await read { db in
            try await db.scalar(String.self, "SELECT body FROM deployment_runs WHERE id = ?", [id]).map { try Self.decode(DeploymentRun.self, $0) }
        }
    }

    public func listDeploymentRuns(_ filter: DeploymentRunFilter, page: PageRequest) async throws -> Page<DeploymentRun> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            if let deploymentID = filter.deploymentID { query.filter("deployment_id = ?", [deploymentID]) }
            if let hasError = filter.hasError { query.filter("has_error = ?", [hasError]) }
            if let triggerType = filter.triggerType { query.filter("trigger_type = ?", [triggerType]) }
            query.filter(filter.createdAt, column: "created_at")
            return try await query.page(
                db, from: "deployment_runs", select: "id, created_at, body", page: page,
                decode: { try Self.decode(DeploymentRun.self, $0["body"]) }, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    /// Inserts a run and announces it, in the caller's transaction. A second run for one
    /// scheduled occurrence is refused by the unique index (an error), or skipped with
    /// `ifAbsent` (returning false).
    @discardableResult
    static func insertDeploymentRun(_ run: DeploymentRun, ifAbsent: Bool = false, _ db: SQLConnection) async throws -> Bool {
        let inserted = try await db.execute(
            """
            INSERT INTO deployment_runs (id, deployment_id, created_at, trigger_type, scheduled_at, session_id, has_error, body)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """ + (ifAbsent ? " ON CONFLICT (deployment_id, scheduled_at) WHERE scheduled_at IS NOT NULL DO NOTHING" : "") + " RETURNING 1",
            [
                run.id, run.deploymentID, Timestamp.micros(run.createdAt), run.trigger.type, run.trigger.scheduledAt.map(Timestamp.micros),
                run.sessionID, run.error != nil, try encode(run),
            ])
        guard inserted > 0 else { return false }
        try await enqueue(OutboxEvent.forDeploymentRun(run), db)
        return true
    }

    private static func fetchDeployment(id: String, lock: Bool, _ db: SQLConnection) async throws -> Deployment? {
        if lock { _ = try await db.execute("SELECT 1 FROM deployments WHERE id = ? FOR UPDATE", [id]) }
        return try await db.fetchOne("SELECT \(deploymentColumns) FROM deployments WHERE id = ?", [id]).map(deployment)
    }

    private static func deploymentArguments(_ deployment: Deployment) throws -> [any SQLValueConvertible] {
        var stored = deployment
        stored.schedule?.lastRunAt = nil
        return [
            Timestamp.micros(deployment.createdAt), deployment.archivedAt.map(Timestamp.micros), deployment.agent.id,
            deployment.pausedReason != nil, deployment.firesOnSchedule ? deployment.nextFireAt.map(Timestamp.micros) : nil, try encode(stored),
        ]
    }

    static func deployment(_ row: SQLRow) throws -> Deployment {
        var deployment = try decode(Deployment.self, try row["body"])
        if let lastRun: Int64 = try row["last_run_at"] { deployment.schedule?.lastRunAt = Timestamp.fromMicros(lastRun) }
        return deployment
    }
}
