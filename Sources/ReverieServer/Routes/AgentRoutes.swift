import HTTPTypes
import Hummingbird
import ReverieCore
import ReverieRuntime
import ReverieStore

/// `/v1/agents`.
struct AgentRoutes {
    let agents: AgentService

    func register(on router: Router<ReverieRequestContext>) {
        let agents = router.group("v1/agents")
        agents.post { request, context in
            try JSONResponse.encode(try await self.agents.createAgent(try AgentCreateRequest(try await request.jsonObject(context: context))))
        }
        agents.get { request, _ in
            let query = request.query
            let filter = AgentFilter(includeArchived: try query.bool("include_archived"), createdAt: try query.timeRange("created_at"))
            return try JSONResponse.page(try await self.agents.listAgents(filter, page: try query.page()))
        }
        agents.get(":agent_id") { request, context in
            let version = try request.query.optionalInt("version")
            return try JSONResponse.encode(try await self.agents.agent(id: try context.pathParameter("agent_id"), version: version))
        }
        agents.post(":agent_id") { request, context in
            let id = try context.pathParameter("agent_id")
            return try JSONResponse.encode(try await self.agents.updateAgent(id: id, try AgentUpdateRequest(try await request.jsonObject(context: context))))
        }
        agents.post(":agent_id/archive") { _, context in
            try JSONResponse.encode(try await self.agents.archiveAgent(id: try context.pathParameter("agent_id")))
        }
        agents.get(":agent_id/versions") { request, context in
            let id = try context.pathParameter("agent_id")
            return try JSONResponse.page(try await self.agents.listAgentVersions(id: id, page: try request.query.page()))
        }
    }
}
