import Hummingbird
import ReverieCore
import ReverieRuntime

/// `/v1/evaluations` (Reverie extension): run a task set against an agent with two memory
/// stores and compare.
struct EvaluationRoutes {
    let evaluations: EvaluationService

    func register(on router: Router<ReverieRequestContext>) {
        let group = router.group("v1/evaluations")
        group.post { request, context in
            try JSONResponse.encode(try await self.evaluations.createEvaluation(try EvaluationRequest(try await request.jsonObject(context: context))))
        }
        group.get { request, _ in
            try JSONResponse.page(try await self.evaluations.listEvaluations(page: try request.query.page()))
        }
        group.get(":evaluation_id") { _, context in
            try JSONResponse.encode(try await self.evaluations.evaluation(id: try context.pathParameter("evaluation_id")))
        }
        group.post(":evaluation_id/cancel") { _, context in
            try JSONResponse.encode(try await self.evaluations.cancelEvaluation(id: try context.pathParameter("evaluation_id")))
        }
    }
}
