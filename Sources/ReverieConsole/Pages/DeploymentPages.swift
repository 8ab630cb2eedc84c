import Foundation
import Hummingbird
import ReverieCore
import ReverieRuntime

extension Console {
    /// Deployments: their schedule and status, and each run with the session it started (or
    /// why it could not); run now, pause and unpause.
    func registerDeployments<Context: RequestContext>(on router: Router<Context>) {
        router.get("console/deployments") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let deployments = try await self.platform.deployments.listDeployments(DeploymentFilter(), page: PageRequest(limit: 100))
                let rows: [[String: Any]] = deployments.items.map { response in
                    let deployment = response.deployment
                    return [
                        "id": deployment.id, "name": deployment.name, "status": deployment.status.rawValue,
                        "schedule": Self.scheduleText(deployment.schedule), "next": DisplayFormat.shortDate(response.upcomingRuns.first),
                        "last": DisplayFormat.shortDate(deployment.schedule?.lastRunAt),
                    ]
                }
                return self.page("deployments", title: "Deployments", section: .deployments, signedIn: signedIn, data: ["deployments": rows, "empty": rows.isEmpty])
            }
        }
        router.get("console/deployments/:deployment_id") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let id = context.parameters.get("deployment_id") ?? ""
                let response = try await self.platform.deployments.deployment(id: id)
                let deployment = response.deployment
                let runs = try await self.platform.deployments.listDeploymentRuns(DeploymentRunFilter(deploymentID: id), page: PageRequest(limit: 100))
                var data: [String: Any] = [
                    "id": deployment.id, "name": deployment.name, "description": deployment.description ?? "", "status": deployment.status.rawValue,
                    "paused": deployment.pausedReason != nil, "archived": deployment.archivedAt != nil, "csrf": signedIn.csrf,
                    "agent": deployment.agent.id, "agentVersion": deployment.agent.version,
                    "agentHref": "/console/agents/\(urlEncoded(deployment.agent.id))", "environment": deployment.environmentID,
                    "environmentHref": "/console/environments/\(urlEncoded(deployment.environmentID))",
                    "schedule": Self.scheduleText(deployment.schedule), "upcoming": response.upcomingRuns.map(DisplayFormat.shortDate), "hasUpcoming": !response.upcomingRuns.isEmpty,
                    "initialEvents": DisplayFormat.pretty(.array(deployment.initialEvents)),
                ]
                if case .error(let type)? = deployment.pausedReason { data["pausedError"] = type }
                data["runs"] = runs.items.map { run -> [String: Any] in
                    var row: [String: Any] = [
                        "id": run.id, "trigger": run.trigger.type, "created": DisplayFormat.shortDate(run.createdAt),
                        "scheduled": DisplayFormat.shortDate(run.trigger.scheduledAt),
                    ]
                    if let sessionID = run.sessionID {
                        row["session"] = sessionID
                        row["sessionHref"] = "/console/sessions/\(urlEncoded(sessionID))"
                    }
                    if let error = run.error { row["error"] = "\(error.type): \(error.message)" }
                    return row
                }
                data["noRuns"] = runs.items.isEmpty
                return self.page("deployment", title: deployment.name, section: .deployments, signedIn: signedIn, data: data)
            }
        }
        for action in ["run", "pause", "unpause"] {
            router.post("console/deployments/:deployment_id/\(action)") { request, context in
                await self.guardedAction(request, context) { _, _ in
                    let id = context.parameters.get("deployment_id") ?? ""
                    switch action {
                    case "run": _ = try await self.platform.deployments.runDeployment(id: id)
                    case "pause": _ = try await self.platform.deployments.pauseDeployment(id: id)
                    default: _ = try await self.platform.deployments.unpauseDeployment(id: id)
                    }
                    return Self.redirect(to: "/console/deployments/\(urlEncoded(id))")
                }
            }
        }
    }

    static func scheduleText(_ schedule: DeploymentSchedule?) -> String {
        guard let schedule else { return "manual only" }
        return "\(schedule.cron.expression) (\(schedule.timezone))"
    }
}
