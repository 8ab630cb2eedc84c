import Hummingbird
import ReverieCore
import ReverieRuntime

/// `/v1/deployments` and `/v1/deployment_runs`, as `client.beta.deployments` and
/// `client.beta.deployment_runs` read them.
struct DeploymentRoutes {
    let deployments: DeploymentService

    func register(on router: Router<ReverieRequestContext>) {
        let group = router.group("v1/deployments")
        group.post { request, context in
            try JSONResponse.encode(try await deployments.createDeployment(try DeploymentCreateRequest(try await request.jsonObject(context: context))))
        }
        group.get { request, _ in
            let query = request.query
            var filter = DeploymentFilter(
                agentID: query.string("agent_id"), createdAt: try query.timeRange("created_at"), includeArchived: try query.bool("include_archived"))
            if let status = query.string("status"), !status.isEmpty {
                guard let parsed = DeploymentStatus(rawValue: status) else { throw APIError.invalidRequest("status: must be 'active' or 'paused'") }
                guard !filter.includeArchived else {
                    throw APIError.invalidRequest("status: cannot be combined with include_archived (archived deployments report 'active')")
                }
                filter.status = parsed
            }
            return try JSONResponse.page(try await deployments.listDeployments(filter, page: try query.page()))
        }
        group.get(":deployment_id") { _, context in
            try JSONResponse.encode(try await deployments.deployment(id: try context.pathParameter("deployment_id")))
        }
        group.post(":deployment_id") { request, context in
            let id = try context.pathParameter("deployment_id")
            return try JSONResponse.encode(
                try await deployments.updateDeployment(id: id, try DeploymentUpdateRequest(try await request.jsonObject(context: context))))
        }
        group.post(":deployment_id/archive") { _, context in
            try JSONResponse.encode(try await deployments.archiveDeployment(id: try context.pathParameter("deployment_id")))
        }
        group.post(":deployment_id/pause") { _, context in
            try JSONResponse.encode(try await deployments.pauseDeployment(id: try context.pathParameter("deployment_id")))
        }
        group.post(":deployment_id/unpause") { _, context in
            try JSONResponse.encode(try await deployments.unpauseDeployment(id: try context.pathParameter("deployment_id")))
        }
        group.post(":deployment_id/run") { _, context in
            try JSONResponse.encode(try await deployments.runDeployment(id: try context.pathParameter("deployment_id")))
        }

        let runs = router.group("v1/deployment_runs")
        runs.get { request, _ in
            let query = request.query
            var filter = DeploymentRunFilter(deploymentID: query.string("deployment_id"), createdAt: try query.timeRange("created_at"))
            if query.string("has_error")?.isEmpty == false { filter.hasError = try query.bool("has_error") }
            if let trigger = query.string("trigger_type"), !trigger.isEmpty {
                guard ["schedule", "manual"].contains(trigger) else { throw APIError.invalidRequest("trigger_type: must be 'schedule' or 'manual'") }
                filter.triggerType = trigger
            }
            return try JSONResponse.page(try await deployments.listDeploymentRuns(filter, page: try query.page(maxLimit: 1000)))
        }
        runs.get(":deployment_run_id") { _, context in
            try JSONResponse.encode(try await deployments.deploymentRun(id: try context.pathParameter("deployment_run_id")))
        }
    }
}
