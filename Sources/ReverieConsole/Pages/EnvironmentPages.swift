import Foundation
import Hummingbird
import ReverieCore
import ReverieRuntime

extension Console {
    /// Environments, and for a `self_hosted` one its work queue and the workers polling it.
    func registerEnvironments<Context: RequestContext>(on router: Router<Context>) {
        router.get("console/environments") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let environments = try await self.platform.environments.listEnvironments(includeArchived: false, page: PageRequest(limit: 100))
                let rows: [[String: Any]] = environments.items.map {
                    ["id": $0.id, "name": $0.name, "kind": Self.kind($0), "updated": DisplayFormat.shortDate($0.updatedAt)]
                }
                return self.page("environments", title: "Environments", section: .environments, signedIn: signedIn, data: ["environments": rows, "empty": rows.isEmpty])
            }
        }
        router.get("console/environments/:environment_id") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let id = context.parameters.get("environment_id") ?? ""
                let environment = try await self.platform.environments.environment(id: id)
                var data: [String: Any] = [
                    "id": environment.id, "name": environment.name, "description": environment.description ?? "", "kind": Self.kind(environment),
                    "config": DisplayFormat.pretty(environment.config.json),
                ]
                if case .selfHosted = environment.config {
                    let stats = try await self.platform.work.stats(environmentID: id)
                    let items = try await self.platform.work.list(environmentID: id, page: PageRequest(limit: 100))
                    data["selfHosted"] = true
                    data["depth"] = stats.depth
                    data["pending"] = stats.pending
                    data["workers"] = stats.workersPolling
                    data["oldest"] = DisplayFormat.shortDate(stats.oldestQueuedAt)
                    data["items"] = items.items.map { item -> [String: Any] in
                        ["id": item.id, "session": item.sessionID, "sessionHref": "/console/sessions/\(urlEncoded(item.sessionID))",
                         "state": item.state.rawValue, "created": DisplayFormat.shortDate(item.createdAt),
                         "heartbeat": DisplayFormat.shortDate(item.latestHeartbeatAt), "lease": DisplayFormat.shortDate(item.leaseExpiresAt)]
                    }
                }
                return self.page("environment", title: environment.name, section: .environments, signedIn: signedIn, data: data)
            }
        }
    }

    static func kind(_ environment: ReverieCore.Environment) -> String {
        if case .selfHosted = environment.config { return "self_hosted" }
        return "cloud"
    }
}
