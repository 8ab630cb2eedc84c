import HTTPTypes
import Hummingbird
import ReverieCore
import ReverieRuntime

/// `/v1/environments/{id}/work`: the work queue of a `self_hosted` environment, as the SDK's
/// `client.beta.environments.work` and its `EnvironmentWorker` use it. Which credential may
/// call what follows the SDK's docstrings: `retrieve` and `update` take an API key, not an
/// environment key; `list` takes an environment key, not an API key.
struct WorkRoutes {
    let work: WorkQueue

    func register(on router: Router<ReverieRequestContext>) {
        let group = router.group("v1/environments/:environment_id/work")
        group.get("poll") { request, context in
            let query = request.query
            let item = try await self.work.poll(
                environmentID: try context.pathParameter("environment_id"), workerID: request.headers[.workerID],
                blockMilliseconds: try query.optionalInt("block_ms"), reclaimOlderThanMilliseconds: try query.optionalInt("reclaim_older_than_ms"))
            guard let item else { return JSONResponse.make(json: "null") }
            return try JSONResponse.encode(item)
        }
        group.get("stats") { _, context in
            try JSONResponse.encode(try await self.work.stats(environmentID: try context.pathParameter("environment_id")))
        }
        group.get { request, context in
            try Self.require(context, allowsAPIKey: false)
            return try JSONResponse.page(
                try await self.work.list(environmentID: try context.pathParameter("environment_id"), page: try request.query.page()))
        }
        group.get(":work_id") { _, context in
            try Self.require(context, allowsAPIKey: true)
            return try JSONResponse.encode(
                try await self.work.item(environmentID: try context.pathParameter("environment_id"), id: try context.pathParameter("work_id")))
        }
        group.post(":work_id") { request, context in
            try Self.require(context, allowsAPIKey: true)
            let body = try await request.jsonObject(context: context)
            try body.rejectUnknown(["metadata"])
            guard let metadata = body.members["metadata"] else { throw APIError.invalidRequest("metadata: required") }
            return try JSONResponse.encode(
                try await self.work.update(
                    environmentID: try context.pathParameter("environment_id"), id: try context.pathParameter("work_id"), metadata: metadata))
        }
        group.post(":work_id/ack") { _, context in
            try JSONResponse.encode(
                try await self.work.acknowledge(environmentID: try context.pathParameter("environment_id"), id: try context.pathParameter("work_id")))
        }
        group.post(":work_id/heartbeat") { request, context in
            let query = request.query
            return try JSONResponse.encode(
                try await self.work.heartbeat(
                    environmentID: try context.pathParameter("environment_id"), id: try context.pathParameter("work_id"),
                    expected: query.string("expected_last_heartbeat"), desiredTTLSeconds: try query.optionalInt("desired_ttl_seconds")))
        }
        group.post(":work_id/stop") { request, context in
            let body = try await request.jsonObject(context: context)
            try body.rejectUnknown(["force"])
            return try JSONResponse.encode(
                try await self.work.stop(
                    environmentID: try context.pathParameter("environment_id"), id: try context.pathParameter("work_id"),
                    force: try body.bool("force") ?? false))
        }
    }

    /// Refuses the credential a route does not take: an environment key (or a work item's
    /// token) where `allowsAPIKey`, an API key where not.
    private static func require(_ context: ReverieRequestContext, allowsAPIKey: Bool) throws {
        let isAPIKey: Bool
        switch context.credential {
        case .apiKey?, nil: isAPIKey = true
        case .environmentKey?, .workItem?: isAPIKey = false
        }
        if isAPIKey != allowsAPIKey {
            throw APIError(.permission, allowsAPIKey ? "this endpoint takes an API key, not an environment key" : "this endpoint takes the environment key, not an API key")
        }
    }
}

extension HTTPField.Name {
    static let workerID = HTTPField.Name("Anthropic-Worker-ID")!
}
