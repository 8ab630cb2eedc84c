import Hummingbird
import ReverieCore
import ReverieRuntime
import ReverieStore

/// `/v1/dreams`, plus the Reverie extensions `GET /v1/dreams/{id}/report` (JSON, or
/// Markdown with `?format=markdown`), `POST /v1/dreams/{id}/review` and
/// `POST /v1/dreams/{id}/promote`.
struct DreamRoutes {
    let dreams: DreamService

    func register(on router: Router<ReverieRequestContext>) {
        let dreams = router.group("v1/dreams")
        dreams.post { request, context in
            try JSONResponse.encode(try await self.dreams.createDream(try DreamRequest(try await request.jsonObject(context: context))))
        }
        dreams.get { request, _ in
            let query = request.query
            var statuses: Set<Dream.Status> = []
            for text in query.list("statuses") {
                guard let status = Dream.Status(rawValue: text) else {
                    throw APIError.invalidRequest("statuses: unknown status '\(text)'; expected pending, running, completed, failed or canceled")
                }
                statuses.insert(status)
            }
            let filter = DreamFilter(includeArchived: try query.bool("include_archived"), statuses: statuses, createdAt: try query.timeRange("created_at"))
            return try JSONResponse.page(try await self.dreams.listDreams(filter, page: try query.page()))
        }
        dreams.get(":dream_id") { _, context in
            try JSONResponse.encode(try await self.dreams.dream(id: try context.pathParameter("dream_id")))
        }
        dreams.post(":dream_id/cancel") { _, context in
            try JSONResponse.encode(try await self.dreams.cancelDream(id: try context.pathParameter("dream_id")))
        }
        dreams.post(":dream_id/archive") { _, context in
            try JSONResponse.encode(try await self.dreams.archiveDream(id: try context.pathParameter("dream_id")))
        }
        dreams.get(":dream_id/report") { request, context in
            let id = try context.pathParameter("dream_id")
            switch request.query.string("format") ?? "json" {
            case "json":
                return try JSONResponse.encode(try await self.dreams.dreamReport(id: id))
            case "markdown":
                return TextResponse.markdown(try await self.dreams.dreamReportMarkdown(id: id))
            case let other:
                throw APIError.invalidRequest("format: must be 'json' or 'markdown', got '\(other)'")
            }
        }
        dreams.post(":dream_id/review") { request, context in
            let id = try context.pathParameter("dream_id")
            let body = try DreamReviewRequest(try await request.jsonObject(context: context))
            return try JSONResponse.encode(try await self.dreams.reviewDream(id: id, body, reviewer: context.memoryActor))
        }
        dreams.post(":dream_id/promote") { request, context in
            let id = try context.pathParameter("dream_id")
            let body = try DreamPromoteRequest(try await request.jsonObject(context: context))
            return try JSONResponse.encode(try await self.dreams.promoteDream(id: id, body, actor: context.memoryActor))
        }
    }
}
