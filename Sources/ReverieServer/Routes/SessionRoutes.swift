import HTTPTypes
import Hummingbird
import ReverieCore
import ReverieRuntime
import ReverieStore

/// `/v1/sessions` and the session's event log.
struct SessionRoutes {
    let sessions: SessionService
    /// The live log the event streams read.
    let log: SessionLog
    let streams: EventStream.Settings

    func register(on router: Router<ReverieRequestContext>) {
        let sessions = router.group("v1/sessions")
        sessions.post { request, context in
            try JSONResponse.encode(try await self.sessions.createSession(try SessionCreateRequest(try await request.jsonObject(context: context))))
        }
        sessions.post("import") { request, context in
            try JSONResponse.encode(try await self.sessions.importSession(try SessionImportRequest(try await request.jsonObject(context: context))))
        }
        sessions.get { request, _ in
            let query = request.query
            var statuses: Set<SessionStatus> = []
            for text in query.list("statuses") {
                guard let status = SessionStatus(rawValue: text) else {
                    throw APIError.invalidRequest("statuses: unknown status '\(text)'; expected rescheduling, running, idle or terminated")
                }
                statuses.insert(status)
            }
            let filter = SessionFilter(
                agentID: query.string("agent_id"), agentVersion: try query.optionalInt("agent_version"), statuses: statuses,
                memoryStoreID: query.string("memory_store_id"), includeArchived: try query.bool("include_archived"),
                createdAt: try query.timeRange("created_at"))
            if query.string("deployment_id") != nil {
                // Reverie has no deployments, so no session matches.
                return JSONResponse.page([], next: nil, previous: .some(nil))
            }
            return try JSONResponse.page(try await self.sessions.listSessions(filter, page: try query.page(maxLimit: 1000)), includePrevious: true)
        }
        sessions.get(":session_id") { _, context in
            try JSONResponse.encode(try await self.sessions.session(id: try context.pathParameter("session_id")))
        }
        sessions.post(":session_id") { request, context in
            let id = try context.pathParameter("session_id")
            return try JSONResponse.encode(try await self.sessions.updateSession(id: id, try SessionUpdateRequest(try await request.jsonObject(context: context))))
        }
        sessions.delete(":session_id") { _, context in
            let id = try context.pathParameter("session_id")
            try await self.sessions.deleteSession(id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "session_deleted"])
        }
        sessions.post(":session_id/archive") { _, context in
            try JSONResponse.encode(try await self.sessions.archiveSession(id: try context.pathParameter("session_id")))
        }

        sessions.get(":session_id/resources") { request, context in
            let id = try context.pathParameter("session_id")
            let query = request.query
            // Without `limit`, every resource.
            let limit = query.string("limit") == nil ? nil : try query.int("limit", default: 1000, range: 1...1000)
            var cursor: Cursor?
            if let token = query.string("page"), !token.isEmpty { cursor = try Cursor(token: token) }
            return try JSONResponse.page(try await self.sessions.sessionResources(sessionID: id, limit: limit, cursor: cursor))
        }
        sessions.post(":session_id/resources") { request, context in
            let body = try await request.jsonObject(context: context)
            return try JSONResponse.encode(try await self.sessions.addSessionResource(sessionID: try context.pathParameter("session_id"), body))
        }
        sessions.get(":session_id/resources/:resource_id") { _, context in
            try JSONResponse.encode(try await self.sessions.sessionResource(
                sessionID: try context.pathParameter("session_id"), id: try context.pathParameter("resource_id")))
        }
        sessions.post(":session_id/resources/:resource_id") { request, context -> Response in
            _ = try await request.jsonObject(context: context)
            try await self.sessions.updateSessionResource(sessionID: try context.pathParameter("session_id"), id: try context.pathParameter("resource_id"))
        }
        sessions.delete(":session_id/resources/:resource_id") { _, context in
            let id = try context.pathParameter("resource_id")
            try await self.sessions.deleteSessionResource(sessionID: try context.pathParameter("session_id"), id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "session_resource_deleted"])
        }
        sessions.get(":session_id/events") { request, context in
            let id = try context.pathParameter("session_id")
            let query = request.query
            var types: Set<EventType> = []
            for text in query.list("types") {
                let type = EventType(rawValue: text)
                guard EventType.all.contains(type) else { throw APIError.invalidRequest("types: unknown event type '\(text)'") }
                types.insert(type)
            }
            let filter = EventFilter(types: types, processedAt: try query.timeRange("created_at"))
            let page = try await self.sessions.listEvents(
                sessionID: id, filter: filter, page: try query.page(maxLimit: 1000, defaultOrder: .ascending))
            return JSONResponse.page(page.items.map(\.json), next: page.next)
        }
        sessions.post(":session_id/events") { request, context in
            let id = try context.pathParameter("session_id")
            let stored = try await self.sessions.sendEvents(sessionID: id, try EventsSendRequest(try await request.jsonObject(context: context)))
            return JSONResponse.make(json: "{\"data\":[" + stored.map(\.json).joined(separator: ",") + "]}")
        }
        sessions.get(":session_id/events/stream") { request, context in
            let id = try context.pathParameter("session_id")
            let stream = try await EventStream.open(
                log: log, sessionID: id, lastEventID: request.headers[.lastEventID] ?? request.query.string("last_event_id"),
                previews: Set(request.query.list("event_deltas").map(EventType.init(rawValue:))), settings: streams)
            return stream.response()
        }
    }
}
