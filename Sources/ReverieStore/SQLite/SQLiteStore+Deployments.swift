import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    static let deploymentsSchema = """
        CREATE TABLE deployments (
            id TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            archived_at INTEGER,
            agent_id TEXT NOT NULL,
            paused INTEGER NOT NULL,
            next_fire_at INTEGER,
            body TEXT NOT NULL
        );
        CREATE INDEX deployments_created ON deployments(created_at, id);
        CREATE INDEX deployments_due ON deployments(next_fire_at) WHERE next_fire_at IS NOT NULL;
        CREATE TABLE deployment_runs (
            id TEXT PRIMARY KEY,
            deployment_id TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            trigger_type TEXT NOT NULL,
            scheduled_at INTEGER,
            session_id TEXT,
            has_error INTEGER NOT NULL,
            body TEXT NOT NULL
        );
        CREATE UNIQUE INDEX deployment_runs_occurrence ON deployment_runs(deployment_id, scheduled_at) WHERE scheduled_at IS NOT NULL;
        CREATE INDEX deployment_runs_created ON deployment_runs(created_at, id);
        CREATE INDEX deployment_runs_by_deployment ON deployment_runs(deployment_id, created_at, id);
        """

    /// The columns a deployment is read from, with `last_run_at` taken from its runs.
    private static let deploymentColumns = """
        id, created_at, body, (SELECT MAX(r.created_at) FROM deployment_runs r
            WHERE r.deployment_id = deployments.id AND r.scheduled_at IS NOT NULL AND r.session_id IS NOT NULL) AS last_run_at
        """

    public func createDeployment(_ deployment: Deployment) async throws {
        try await write { db in
            try db.execute(
                sql: "INSERT INTO deployments (id, created_at, archived_at, agent_id, paused, next_fire_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: Self.deploymentArguments(deployment, includingID: true))
            try Self.enqueue([OutboxEvent(type: "deployment.created", resourceID: deployment.id, createdAt: deployment.createdAt)], db)
        }
    }

    public func deployment(id: String) async throws -> Deployment? {
        try await read { db in try Self.fetchDeployment(id: id, db) }
    }

    public func updateDeployment(id: String, _ change: @Sendable (Deployment) throws -> Deployment) async throws -> Deployment {
        try await write { db in
            guard let current = try Self.fetchDeployment(id: id, db) else { throw APIError.notFound("deployment", id) }
            var next = try change(current)
            next.schedule?.lastRunAt = current.schedule?.lastRunAt
            guard next != current else { return current }
            try db.execute(
                sql: "UPDATE deployments SET created_at = ?, archived_at = ?, agent_id = ?, paused = ?, next_fire_at = ?, body = ? WHERE id = ?",
                arguments: Self.deploymentArguments(next, includingID: false) + [id])
            try Self.enqueue(OutboxEvent.forDeploymentChange(from: current, to: next), db)
            return next
        }
    }

    public func listDeployments(_ filter: DeploymentFilter, page: PageRequest) async throws -> Page<Deployment> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            if !filter.includeArchived { query.filter("archived_at IS NULL") }
            if let agentID = filter.agentID { query.filter("agent_id = ?", [agentID]) }
            if let status = filter.status { query.filter("paused = ?", [status == .paused]) }
            query.filter(filter.createdAt, column: "created_at")
            return try query.page(
                db, from: "deployments", select: Self.deploymentColumns, page: page, decode: Self.deployment,
                position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func dueDeployments(at time: Date, limit: Int) async throws -> [Deployment] {
        try await read { db in
            try Row.fetchAll(
                db, sql: "SELECT \(Self.deploymentColumns) FROM deployments WHERE next_fire_at IS NOT NULL AND next_fire_at <= ? ORDER BY next_fire_at LIMIT ?",
                arguments: [Timestamp.micros(time), limit]
            ).map(Self.deployment)
        }
    }

    public func recordDeploymentRun(_ run: DeploymentRun) async throws -> Bool {
        try await write { db in try Self.insertDeploymentRun(run, ifAbsent: true, db) }
    }

    public func deploymentRun(deploymentID: String, scheduledAt: Date) async throws -> DeploymentRun? {
        try await read { db in
            try String.fetchOne(
                db, sql: "SELECT body FROM deployment_runs WHERE deployment_id = ? AND scheduled_at = ?",
                arguments: [deploymentID, Timestamp.micros(scheduledAt)]
            ).map { try Self.decode(DeploymentRun.self, $0) }
        }
    }

    public func deploymentRun(id: String) async throws -> DeploymentRun? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT body FROM deployment_runs WHERE id = ?", arguments: [id]).map { try Self.decode(DeploymentRun.self, $0) }
        }
    }

    public func listDeploymentRuns(_ filter: DeploymentRunFilter, page: PageRequest) async throws -> Page<DeploymentRun> {
        try await read { db in
            var query = KeysetQuery(sortColumn: "created_at")
            if let deploymentID = filter.deploymentID { query.filter("deployment_id = ?", [deploymentID]) }
            if let hasError = filter.hasError { query.filter("has_error = ?", [hasError]) }
            if let triggerType = filter.triggerType { query.filter("trigger_type = ?", [triggerType]) }
            query.filter(filter.createdAt, column: "created_at")
            return try query.page(
                db, from: "deployment_runs", select: "id, created_at, body", page: page,
                decode: { try Self.decode(DeploymentRun.self, $0["body"]) }, position: { ($0["created_at"], $0["id"]) })
        }
    }

    /// Inserts a run and announces it, in the caller's transaction. A second run for one
    /// scheduled occurrence is refused by the unique index (an error), or skipped with
    /// `ifAbsent` (returning false).
    @discardableResult
    static func insertDeploymentRun(_ run: DeploymentRun, ifAbsent: Bool = false, _ db: Database) throws -> Bool {
        try db.execute(
            sql: """
                INSERT INTO deployment_runs (id, deployment_id, created_at, trigger_type, scheduled_at, session_id, has_error, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """ + (ifAbsent ? " ON CONFLICT (deployment_id, scheduled_at) WHERE scheduled_at IS NOT NULL DO NOTHING" : ""),
            arguments: [
                run.id, run.deploymentID, Timestamp.micros(run.createdAt), run.trigger.type, run.trigger.scheduledAt.map(Timestamp.micros),
                run.sessionID, run.error != nil, try encode(run),
            ])
        guard db.changesCount > 0 else { return false }
        try enqueue(OutboxEvent.forDeploymentRun(run), db)
        return true
    }

    private static func fetchDeployment(id: String, _ db: Database) throws -> Deployment? {
        try Row.fetchOne(db, sql: "SELECT \(deploymentColumns) FROM deployments WHERE id = ?", arguments: [id]).map(deployment)
    }

    private static func deploymentArguments(_ deployment: Deployment, includingID: Bool) throws -> StatementArguments {
        var stored = deployment
        stored.schedule?.lastRunAt = nil
        let values: [(any DatabaseValueConvertible)?] = [
            Timestamp.micros(deployment.createdAt), deployment.archivedAt.map(Timestamp.micros), deployment.agent.id,
            deployment.pausedReason != nil, deployment.firesOnSchedule ? deployment.nextFireAt.map(Timestamp.micros) : nil, try encode(stored),
        ]
        return StatementArguments(includingID ? [deployment.id] + values : values)
    }

    static func deployment(_ row: Row) throws -> Deployment {
        var deployment = try decode(Deployment.self, row["body"])
        if let lastRun: Int64 = row["last_run_at"] { deployment.schedule?.lastRunAt = Timestamp.fromMicros(lastRun) }
        return deployment
    }
}
