import HTTPTypes
import Hummingbird
import ReverieCore
import ReverieRuntime
import ReverieStore

/// `/v1/sessions/{id}/threads`: a session's threads and each thread's events.
struct ThreadRoutes {
    let sessions: SessionService
    /// The live log the event streams read.
    let log: SessionLog
    let streams: EventStream.Settings

    func register(on router: Router<ReverieRequestContext>) {
        let threads = router.group("v1/sessions/:session_id/threads")
        threads.get { request, context in
            let id = try context.pathParameter("session_id")
            var statuses: Set<SessionStatus> = []
            for text in request.query.list("statuses") {
                guard let status = SessionStatus(rawValue: text) else {
                    throw APIError.invalidRequest("statuses: unknown status '\(text)'; expected rescheduling, running, idle or terminated")
                }
                statuses.insert(status)
            }
            let page = try await self.sessions.listThreads(
                sessionID: id, statuses: statuses, page: try request.query.page(defaultLimit: 1000, maxLimit: 1000, defaultOrder: .ascending))
            let items = try page.items.map { try JSONCoding.string(try $0.json()) }
            return JSONResponse.page(items, next: page.next)
        }
        threads.get(":thread_id") { _, context in
            let thread = try await self.sessions.thread(sessionID: try context.pathParameter("session_id"), id: try context.pathParameter("thread_id"))
            return JSONResponse.make(json: try JSONCoding.string(try thread.json()))
        }
        threads.post(":thread_id/archive") { _, context in
            let thread = try await self.sessions.archiveThread(
                sessionID: try context.pathParameter("session_id"), id: try context.pathParameter("thread_id"))
            return JSONResponse.make(json: try JSONCoding.string(try thread.json()))
        }
        threads.get(":thread_id/events") { request, context in
            let page = try await self.sessions.listThreadEvents(
                sessionID: try context.pathParameter("session_id"), threadID: try context.pathParameter("thread_id"),
                page: try request.query.page(maxLimit: 1000, defaultOrder: .ascending))
            return JSONResponse.page(page.items.map(\.json), next: page.next)
        }
        threads.get(":thread_id/stream") { request, context in
            let sessionID = try context.pathParameter("session_id")
            let thread = try await self.sessions.thread(sessionID: sessionID, id: try context.pathParameter("thread_id"))
            let threadID: String? = thread.isPrimary ? nil : thread.id
            let stream = try await EventStream.open(
                log: log, sessionID: sessionID, lastEventID: request.headers[.lastEventID] ?? request.query.string("last_event_id"),
                previews: Set(request.query.list("event_deltas").map(EventType.init(rawValue:))), settings: streams,
                includes: { $0.threadID == threadID })
            return stream.response()
        }
    }
}
