import Foundation
import ReverieCore
import ReverieStore

/// `/v1/deployments` and `/v1/deployment_runs`: deployments' configuration, pause and
/// unpause, and runs, manual (`run`) or fired by `DeploymentScheduler`. A run creates an
/// ordinary session through `SessionService`, with the run record stored in the session's
/// own transaction.
public struct DeploymentService: Sendable {
    let store: any Store
    let sessions: SessionService
    let memory: MemoryService
    let clock: any ScheduleClock

    public init(store: any Store, sessions: SessionService, memory: MemoryService, clock: any ScheduleClock = SystemScheduleClock()) {
        self.store = store
        self.sessions = sessions
        self.memory = memory
        self.clock = clock
    }

    /// `POST /v1/deployments`.
    public func createDeployment(_ request: DeploymentCreateRequest) async throws -> DeploymentResponse {
        let now = Timestamp.now()
        var deployment = Deployment(
            id: ResourceID.make(ResourceID.deployment, at: now), name: request.name, description: request.description,
            agent: try await pin(request.agent), environmentID: request.environmentID, initialEvents: request.initialEvents,
            resources: request.resources, vaultIDs: request.vaultIDs, budget: request.budget, metadata: request.metadata,
            schedule: request.schedule, createdAt: now)
        try await check(deployment)
        deployment.nextFireAt = deployment.schedule?.next(after: clock.now())
        try await store.createDeployment(deployment)
        return response(deployment)
    }

    /// `GET /v1/deployments/{id}`.
    public func deployment(id: String) async throws -> DeploymentResponse {
        response(try await stored(id))
    }

    /// `POST /v1/deployments/{id}`: members sent replace what is stored; a new schedule (or
    /// agent given as an id, which re-pins the latest version) takes effect from now.
    public func updateDeployment(id: String, _ request: DeploymentUpdateRequest) async throws -> DeploymentResponse {
        let current = try await stored(id)
        if current.archivedAt != nil { throw APIError.archived("deployment", id) }
        var agent: AgentReference?
        if let reference = request.agent { agent = try await pin(reference) }
        var next = current
        if let name = request.name { next.name = name }
        next.description = request.description.applied(to: current.description)
        if let agent { next.agent = agent }
        if let environmentID = request.environmentID { next.environmentID = environmentID }
        if let events = request.initialEvents { next.initialEvents = events }
        next.resources = request.resources.applied(to: current.resources) ?? []
        next.vaultIDs = request.vaultIDs.applied(to: current.vaultIDs) ?? []
        next.budget = request.budget.applied(to: current.budget)
        next.metadata = try Metadata.applyPatch(request.metadata, to: current.metadata, at: FieldPath("metadata"))
        next.schedule = request.schedule.applied(to: current.schedule)
        next.schedule?.lastRunAt = current.schedule?.lastRunAt
        guard next != current else { return response(current) }
        try await check(next)
        let scheduleChanged = request.schedule.isPresent
        let now = Timestamp.now()
        let fromNow = clock.now()
        let proposed = next
        let updated = try await store.updateDeployment(id: id) { stored in
            if stored.archivedAt != nil { throw APIError.archived("deployment", id) }
            var result = proposed
            result.pausedReason = stored.pausedReason
            result.nextFireAt = scheduleChanged ? proposed.schedule?.next(after: fromNow) : stored.nextFireAt
            result.updatedAt = now
            return result
        }
        return response(updated)
    }

    /// `GET /v1/deployments`.
    public func listDeployments(_ filter: DeploymentFilter, page: PageRequest) async throws -> Page<DeploymentResponse> {
        let page = try await store.listDeployments(filter, page: page)
        return Page(items: page.items.map(response), next: page.next, previous: page.previous)
    }

    /// `POST /v1/deployments/{id}/archive`: stops scheduling for good; runs stay readable.
    public func archiveDeployment(id: String) async throws -> DeploymentResponse {
        let now = Timestamp.now()
        let archived = try await store.updateDeployment(id: id) { current in
            guard current.archivedAt == nil else { return current }
            var next = current
            next.archivedAt = now
            next.updatedAt = now
            next.nextFireAt = nil
            return next
        }
        return response(archived)
    }

    /// `POST /v1/deployments/{id}/pause`: the schedule stops firing; manual runs still work.
    public func pauseDeployment(id: String) async throws -> DeploymentResponse {
        let now = Timestamp.now()
        let paused = try await store.updateDeployment(id: id) { current in
            if current.archivedAt != nil { throw APIError.archived("deployment", id) }
            guard current.pausedReason == nil else { return current }
            var next = current
            next.pausedReason = .manual
            next.nextFireAt = nil
            next.updatedAt = now
            return next
        }
        return response(paused)
    }

    /// `POST /v1/deployments/{id}/unpause`: the schedule resumes from now; occurrences missed
    /// while paused are not run.
    public func unpauseDeployment(id: String) async throws -> DeploymentResponse {
        let now = Timestamp.now()
        let fromNow = clock.now()
        let unpaused = try await store.updateDeployment(id: id) { current in
            if current.archivedAt != nil { throw APIError.archived("deployment", id) }
            guard current.pausedReason != nil else { return current }
            var next = current
            next.pausedReason = nil
            next.nextFireAt = current.schedule?.next(after: fromNow)
            next.updatedAt = now
            return next
        }
        return response(unpaused)
    }

    /// `POST /v1/deployments/{id}/run`: one run now, paused or not. A run that cannot create
    /// its session is returned with its `error` (and pauses the deployment when the cause
    /// will not go away by itself).
    public func runDeployment(id: String) async throws -> DeploymentRun {
        let deployment = try await stored(id)
        if deployment.archivedAt != nil { throw APIError.archived("deployment", id) }
        guard let run = try await fire(deployment, trigger: .manual) else {
            throw APIError.internalError("deployment '\(id)': the manual run was not recorded")
        }
        return run
    }

    /// `GET /v1/deployment_runs/{id}`.
    public func deploymentRun(id: String) async throws -> DeploymentRun {
        guard let run = try await store.deploymentRun(id: id) else { throw APIError.notFound("deployment_run", id) }
        return run
    }

    /// `GET /v1/deployment_runs`.
    public func listDeploymentRuns(_ filter: DeploymentRunFilter, page: PageRequest) async throws -> Page<DeploymentRun> {
        try await store.listDeploymentRuns(filter, page: page)
    }

    /// Runs a deployment once: creates its session with the run recorded in the same
    /// transaction, or records why it could not. Returns nil when `trigger` is a scheduled
    /// occurrence that already has a run (another process, or this one before a restart, fired it).
    func fire(_ deployment: Deployment, trigger: DeploymentTrigger) async throws -> DeploymentRun? {
        let now = Timestamp.now()
        var run = DeploymentRun(
            id: ResourceID.make(ResourceID.deploymentRun, at: now), deploymentID: deployment.id, agent: deployment.agent, createdAt: now,
            trigger: trigger)
        var failure: DeploymentRunError
        do {
            if let problem = try await preflight(deployment) {
                failure = problem
            } else {
                run.sessionID = ResourceID.make(ResourceID.session, at: now)
                var request = try DeploymentSessionRequest.make(for: deployment)
                request.deploymentRun = run
                _ = try await sessions.createSession(request)
                return run
            }
        } catch {
            if let scheduledAt = trigger.scheduledAt, try await store.deploymentRun(deploymentID: deployment.id, scheduledAt: scheduledAt) != nil {
                return nil
            }
            if let apiError = error as? APIError, apiError.kind == .invalidRequest {
                failure = DeploymentRunError(type: "session_creation_rejected_error", message: apiError.message)
            } else {
                failure = DeploymentRunError(type: "unknown_error", message: "the session could not be created: \(ClientMessage.describe(error))")
            }
        }
        run.sessionID = nil
        run.error = failure
        guard try await store.recordDeploymentRun(run) else { return nil }
        if !failure.isRecoverable {
            let errorType = failure.type
            _ = try await store.updateDeployment(id: deployment.id) { current in
                guard current.pausedReason == nil, current.archivedAt == nil else { return current }
                var next = current
                next.pausedReason = .error(errorType)
                next.nextFireAt = nil
                next.updatedAt = now
                return next
            }
        }
        return run
    }

    /// Why a session cannot be created from `deployment` now, as a run error, or nil.
    func preflight(_ deployment: Deployment) async throws -> DeploymentRunError? {
        let agentID = deployment.agent.id
        guard let agent = try await store.agent(id: agentID), try await store.agent(id: agentID, version: deployment.agent.version) != nil else {
            return DeploymentRunError(type: "agent_archived_error", message: "agent '\(agentID)' version \(deployment.agent.version) no longer exists")
        }
        if agent.archivedAt != nil { return DeploymentRunError(type: "agent_archived_error", message: "agent '\(agentID)' is archived") }
        guard let environment = try await store.environment(id: deployment.environmentID) else {
            return DeploymentRunError(type: "environment_not_found_error", message: "environment '\(deployment.environmentID)' not found")
        }
        if environment.archivedAt != nil {
            return DeploymentRunError(type: "environment_archived_error", message: "environment '\(deployment.environmentID)' is archived")
        }
        let resources = FieldPath("resources")
        for mount in try MemoryMountRequest.parse(deployment.resources, at: resources) {
            guard let memoryStore = try await store.memoryStore(id: mount.memoryStoreID) else {
                return DeploymentRunError(type: "session_resource_not_found_error", message: "memory store '\(mount.memoryStoreID)' not found")
            }
            if memoryStore.archivedAt != nil {
                return DeploymentRunError(type: "memory_store_archived_error", message: "memory store '\(mount.memoryStoreID)' is archived")
            }
        }
        for vaultID in deployment.vaultIDs {
            guard let vault = try await store.vault(id: vaultID) else {
                return DeploymentRunError(type: "vault_not_found_error", message: "vault '\(vaultID)' not found")
            }
            if vault.archivedAt != nil { return DeploymentRunError(type: "vault_archived_error", message: "vault '\(vaultID)' is archived") }
        }
        let now = Timestamp.now()
        let files = try FileMountRequest.parse(deployment.resources, at: resources)
        if !files.isEmpty, environment.config == .selfHosted {
            return DeploymentRunError(
                type: "self_hosted_resources_unsupported_error",
                message: "environment '\(deployment.environmentID)' is self_hosted, and its workers cannot mount file resources")
        }
        for file in files {
            guard let stored = try await store.file(id: file.fileID), !stored.isExpired(at: now) else {
                return DeploymentRunError(type: "file_not_found_error", message: "file '\(file.fileID)' not found")
            }
        }
        return nil
    }

    /// Checks a deployment being created or changed: what a run would refuse is a 400 now.
    private func check(_ deployment: Deployment) async throws {
        if let problem = try await preflight(deployment) { throw APIError.invalidRequest(problem.message) }
        let request = try DeploymentSessionRequest.make(for: deployment)
        let agent = try await sessions.resolveSessionAgent(request.agent)
        if deployment.budget != nil { try sessions.checkBudgetable(agent) }
    }

    /// Pins an agent reference to a concrete version (the latest, for a bare id).
    private func pin(_ reference: AgentReferenceReference) async throws -> AgentReference {
        guard let latest = try await store.agent(id: reference.id) else { throw APIError.invalidRequest("agent: agent '\(reference.id)' not found") }
        if latest.archivedAt != nil { throw APIError.invalidRequest("agent: agent '\(reference.id)' is archived") }
        guard let version = reference.version else { return AgentReference(id: latest.id, version: latest.version) }
        guard try await store.agent(id: reference.id, version: version) != nil else {
            throw APIError.invalidRequest("agent.version: agent '\(reference.id)' has no version \(version)")
        }
        return AgentReference(id: latest.id, version: version)
    }

    private func stored(_ id: String) async throws -> Deployment {
        guard let deployment = try await store.deployment(id: id) else { throw APIError.notFound("deployment", id) }
        return deployment
    }

    /// The client's view: archived deployments list no upcoming runs.
    func response(_ deployment: Deployment) -> DeploymentResponse {
        let upcoming = deployment.archivedAt == nil ? deployment.schedule?.upcoming(after: clock.now()) ?? [] : []
        return DeploymentResponse(deployment, upcomingRuns: upcoming)
    }
}
