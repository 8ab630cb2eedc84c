import Foundation
import ReverieCore

/// Deployments and their run records. A deployment's `schedule.last_run_at` is read from the
/// runs (the newest scheduled run that created a session).
public protocol DeploymentStore: Sendable {
    /// Inserts a deployment (announcing `deployment.created`).
    func createDeployment(_ deployment: Deployment) async throws
    func deployment(id: String) async throws -> Deployment?
    /// Atomic read-modify-write, announcing what `OutboxEvent.forDeploymentChange` says;
    /// throws `APIError.notFound` when missing.
    func updateDeployment(id: String, _ change: @Sendable (Deployment) throws -> Deployment) async throws -> Deployment
    /// Deployments, newest first.
    func listDeployments(_ filter: DeploymentFilter, page: PageRequest) async throws -> Page<Deployment>
    /// Deployments the scheduler may fire whose next occurrence is at or before `time`, soonest first.
    func dueDeployments(at time: Date, limit: Int) async throws -> [Deployment]
    /// Records a run that created no session. Returns false (recording nothing) when the
    /// run's scheduled occurrence already has a run.
    func recordDeploymentRun(_ run: DeploymentRun) async throws -> Bool
    /// The run recorded for a deployment's scheduled occurrence, if any.
    func deploymentRun(deploymentID: String, scheduledAt: Date) async throws -> DeploymentRun?
    func deploymentRun(id: String) async throws -> DeploymentRun?
    /// Runs, newest first.
    func listDeploymentRuns(_ filter: DeploymentRunFilter, page: PageRequest) async throws -> Page<DeploymentRun>
}
