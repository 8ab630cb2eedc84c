import Hummingbird
import ReverieCore
import ReverieRuntime

/// `/v1/memory_stores/{id}/dream_policy` (Reverie extension).
struct DreamPolicyRoutes {
    let policies: DreamPolicyService

    func register(on router: Router<ReverieRequestContext>) {
        let group = router.group("v1/memory_stores/:memory_store_id/dream_policy")
        group.put { request, context in
            let id = try context.pathParameter("memory_store_id")
            return try JSONResponse.encode(try await self.policies.putPolicy(memoryStoreID: id, try DreamPolicyRequest(try await request.jsonObject(context: context))))
        }
        group.get { _, context in
            try JSONResponse.encode(try await self.policies.policy(memoryStoreID: try context.pathParameter("memory_store_id")))
        }
        group.delete { _, context in
            let id = try context.pathParameter("memory_store_id")
            try await self.policies.deletePolicy(memoryStoreID: id)
            return try JSONResponse.encode(JSONValue.object(["type": "dream_policy_deleted", "memory_store_id": .string(id)]))
        }
    }
}
