import Foundation
import Hummingbird
import ReverieCore
import ReverieRuntime
import ReverieStore

extension Console {
    /// Agents, and one agent with its versions and a diff between two of them.
    func registerAgents<Context: RequestContext>(on router: Router<Context>) {
        router.get("console/agents") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let agents = try await self.platform.agents.listAgents(AgentFilter(), page: PageRequest(limit: 100))
                let rows: [[String: Any]] = agents.items.map {
                    ["id": $0.id, "name": $0.name, "model": $0.model.id, "version": $0.version, "updated": DisplayFormat.shortDate($0.updatedAt)]
                }
                return self.page("agents", title: "Agents", section: .agents, signedIn: signedIn, data: ["agents": rows, "empty": rows.isEmpty])
            }
        }
        router.get("console/agents/:agent_id") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let id = context.parameters.get("agent_id") ?? ""
                let agent = try await self.platform.agents.agent(id: id)
                let versions = try await self.platform.agents.listAgentVersions(id: id, page: PageRequest(limit: 100))
                let query = request.uri.queryParameters
                let to = query.get("to").flatMap { Int($0) } ?? agent.version
                let from = query.get("from").flatMap { Int($0) } ?? max(1, to - 1)
                let old = try await self.platform.agents.agent(id: id, version: from)
                let new = try await self.platform.agents.agent(id: id, version: to)
                let diff = LineDiff(from: Self.versionText(old), to: Self.versionText(new))
                return self.page("agent", title: agent.name, section: .agents, signedIn: signedIn, data: [
                    "id": agent.id, "name": agent.name, "description": agent.description ?? "", "model": agent.model.id,
                    "version": agent.version, "system": agent.system ?? "", "tools": agent.tools.count,
                    "versions": versions.items.map { ["version": $0.version, "updated": DisplayFormat.shortDate($0.updatedAt),
                                                       "isFrom": $0.version == from, "isTo": $0.version == to] },
                    "from": from, "to": to, "diff": diff.view, "noChanges": !diff.hasChanges,
                ])
            }
        }
    }

    /// An agent version as sorted, pretty JSON without the fields every version changes.
    static func versionText(_ agent: Agent) -> String {
        guard case .object(var members)? = try? JSONCoding.value(agent) else { return "" }
        for key in ["version", "created_at", "updated_at"] { members[key] = nil }
        return DisplayFormat.pretty(.object(members))
    }
}
