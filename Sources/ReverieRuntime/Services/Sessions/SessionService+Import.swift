import Foundation
import ReverieCore
import ReverieStore

extension SessionService {
    /// `POST /v1/sessions/import` (a Reverie extension): keeps a conversation that happened
    /// elsewhere as a finished, read-only session marked `imported`. It is created
    /// `terminated` with its log in one transaction, and the runtime is never told about it,
    /// so it never runs; dreams read it like any other session.
    public func importSession(_ request: SessionImportRequest) async throws -> Session {
        let agent = try await resolveSessionAgent(request.agent)
        let environmentID = request.environmentID
        guard let environment = try await store.environment(id: environmentID) else {
            throw APIError.invalidRequest("environment_id: environment '\(environmentID)' not found")
        }
        if environment.archivedAt != nil {
            throw APIError.invalidRequest("environment_id: environment '\(environmentID)' is archived")
        }
        let now = Timestamp.now()
        var events = request.events
        for index in events.indices { events[index].processedAt = now }
        let session = Session(
            id: ResourceID.make(ResourceID.session, at: now), agent: agent, environmentID: environmentID, title: request.title,
            metadata: request.metadata, resources: [], status: .terminated, createdAt: now, updatedAt: now, imported: request.imported)
        let (created, _) = try await store.createSession(session, initialEvents: events)
        return created
    }

    /// Refuses events for an imported session with an error that says why. Called only once
    /// a session is known to be terminated, so ordinary sends never read the whole session.
    func refuseEventsIfImported(sessionID: String) async throws {
        guard let session = try await store.session(id: sessionID), let imported = session.imported else { return }
        throw APIError.invalidRequest(
            "session '\(sessionID)' was imported from a \(imported.source) transcript and is read-only; it accepts no events")
    }
}
