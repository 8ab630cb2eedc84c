import HTTPTypes
import Hummingbird
import ReverieCore
import ReverieRuntime

/// `/v1/environments`.
struct EnvironmentRoutes {
    let environments: EnvironmentService

    func register(on router: Router<ReverieRequestContext>) {
        let environments = router.group("v1/environments")
        environments.post { request, context in
            try JSONResponse.encode(try await self.environments.createEnvironment(try EnvironmentRequest(try await request.jsonObject(context: context), creating: true)))
        }
        environments.get { request, _ in
            let query = request.query
            return try JSONResponse.page(
                try await self.environments.listEnvironments(includeArchived: try query.bool("include_archived"), page: try query.page()))
        }
        environments.get(":environment_id") { _, context in
            try JSONResponse.encode(try await self.environments.environment(id: try context.pathParameter("environment_id")))
        }
        environments.post(":environment_id") { request, context in
            let id = try context.pathParameter("environment_id")
            return try JSONResponse.encode(try await self.environments.updateEnvironment(id: id, try EnvironmentRequest(try await request.jsonObject(context: context), creating: false)))
        }
        environments.delete(":environment_id") { _, context in
            let id = try context.pathParameter("environment_id")
            try await self.environments.deleteEnvironment(id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "environment_deleted"])
        }
        environments.post(":environment_id/archive") { _, context in
            try JSONResponse.encode(try await self.environments.archiveEnvironment(id: try context.pathParameter("environment_id")))
        }
    }
}
