import Foundation
import ReverieCore
import ReverieStore

extension SessionService {
    /// `GET /v1/sessions/{id}/threads`.
    public func listThreads(sessionID: String, statuses: Set<SessionStatus>, page: PageRequest) async throws -> Page<SessionThread> {
        try await store.listThreads(sessionID: sessionID, statuses: statuses, page: page)
    }

    /// `GET /v1/sessions/{id}/threads/{thread_id}`.
    public func thread(sessionID: String, id: String) async throws -> SessionThread {
        guard let thread = try await store.thread(sessionID: sessionID, id: id) else {
            if try await store.sessionHeader(id: sessionID) == nil { throw APIError.notFound("session", sessionID) }
            throw APIError.notFound("session_thread", id)
        }
        return thread
    }

    /// `POST /v1/sessions/{id}/threads/{thread_id}/archive`: a child thread that is not running.
    public func archiveThread(sessionID: String, id: String) async throws -> SessionThread {
        _ = try await thread(sessionID: sessionID, id: id)
        return try await store.updateThread(sessionID: sessionID, id: id) { current in
            if current.archivedAt != nil { return current }
            if current.isPrimary {
                throw APIError.invalidRequest("thread_id: '\(id)' is the session's primary thread; archive the session instead")
            }
            if current.status == .running || current.status == .rescheduling {
                throw APIError.invalidRequest("thread_id: thread '\(id)' is \(current.status.rawValue); interrupt it before archiving")
            }
            var archived = current
            archived.archivedAt = Timestamp.now()
            return archived
        }
    }

    /// `GET /v1/sessions/{id}/threads/{thread_id}/events`: the thread's own events.
    public func listThreadEvents(sessionID: String, threadID: String, page: PageRequest) async throws -> Page<StoredEvent> {
        let thread = try await thread(sessionID: sessionID, id: threadID)
        let filter = thread.isPrimary ? EventFilter(primaryThreadOnly: true) : EventFilter(threadID: threadID)
        return try await store.listEvents(sessionID: sessionID, filter: filter, page: page)
    }

    /// Checks that `user.interrupt` names a thread of the session.
    func checkThreadReferences(_ events: [SessionEvent], sessionID: String) async throws {
        for (index, event) in events.enumerated() {
            guard let threadID = event.threadID else { continue }
            if try await store.thread(sessionID: sessionID, id: threadID) == nil {
                throw APIError.invalidRequest("events[\(index)].session_thread_id: session '\(sessionID)' has no thread '\(threadID)'")
            }
        }
    }
}
