import Hummingbird
import ReverieCore
import ReverieRuntime

/// `/v1/environments/{id}/keys` (a Reverie extension): create (the secret is in the answer,
/// once), list (never a secret), revoke.
struct EnvironmentKeyRoutes {
    let environments: EnvironmentService

    func register(on router: Router<ReverieRequestContext>) {
        let keys = router.group("v1/environments/:environment_id/keys")
        keys.post { request, context in
            let body = try await request.jsonObject(context: context)
            return try JSONResponse.encode(
                try await self.environments.createKey(environmentID: try context.pathParameter("environment_id"), body: .object(body.members)))
        }
        keys.get { _, context in
            let list = try await self.environments.listKeys(environmentID: try context.pathParameter("environment_id"))
            return try JSONResponse.page(Page(items: list))
        }
        keys.delete(":key_id") { _, context in
            let id = try context.pathParameter("key_id")
            try await self.environments.revokeKey(environmentID: try context.pathParameter("environment_id"), id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "environment_key_deleted"])
        }
    }
}
