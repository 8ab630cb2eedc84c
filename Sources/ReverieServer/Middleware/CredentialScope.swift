import HTTPTypes
import ReverieCore
import ReverieRuntime

/// What a worker's credential may reach. An API key reaches everything; an environment key
/// only its environment's work queue and its sessions' events; a work item's sessions token
/// only that item's heartbeat and stop, its session's events, the memories of the memory
/// stores attached to that session and the versions (and their files) of its agent's skills.
/// A session of another
/// environment reads as not found, so a key learns nothing of what it cannot touch.
struct CredentialScope: Sendable {
    let log: SessionLog

    func authorize(_ credential: Credential, method: HTTPRequest.Method, path: String) async throws {
        let environmentID: String
        let workItem: (id: String, sessionID: String)?
        switch credential {
        case .apiKey:
            return
        case .environmentKey(_, let environment):
            (environmentID, workItem) = (environment, nil)
        case .workItem(let id, let environment, let sessionID):
            (environmentID, workItem) = (environment, (id, sessionID))
        }
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard parts.count >= 3, parts[0] == "v1" else { throw Self.outOfScope }
        switch parts[1] {
        case "environments" where parts.count >= 4 && parts[3] == "work":
            guard parts[2] == environmentID else { throw APIError.notFound("environment", parts[2]) }
            guard let workItem else { return }
            // A sessions token runs only its own item's lease.
            guard parts.count == 6, parts[4] == workItem.id, ["heartbeat", "stop"].contains(parts[5]), method == .post else {
                throw Self.outOfScope
            }
        case "memory_stores" where workItem != nil && parts.count >= 4 && parts[3] == "memories":
            // A work item's token mounts its session's memory stores, as the SDK's worker does:
            // the memories of a store attached to the session, read-only ones only to read.
            guard let workItem else { throw Self.outOfScope }
            let session = try await log.session(id: workItem.sessionID)
            let mount = session.resources.lazy.compactMap { resource -> MemoryStoreMount? in
                if case .memoryStore(let mount) = resource, mount.memoryStoreID == parts[2] { return mount }
                return nil
            }.first
            guard let mount else { throw APIError.notFound("memory store", parts[2]) }
            if method != .get, mount.access == .readOnly {
                throw APIError(.permission, "memory store '\(parts[2])' is attached to this session read-only")
            }
        case "skills" where workItem != nil && method == .get && (parts.count == 5 || parts.count == 6 && parts[5] == "content") && parts[3] == "versions":
            // A work item's token downloads its session's skills, as the SDK's worker does: any
            // version of a skill the session's agent has (its `latest` resolves through them).
            guard let workItem else { throw Self.outOfScope }
            let session = try await log.session(id: workItem.sessionID)
            guard session.agent.skills.contains(where: { $0["skill_id"]?.stringValue == parts[2] }) else {
                throw APIError.notFound("skill", parts[2])
            }
        case "sessions":
            guard Self.isSessionEventRoute(parts, method: method) else { throw Self.outOfScope }
            let sessionID = parts[2]
            if let workItem, workItem.sessionID != sessionID { throw APIError.notFound("session", sessionID) }
            guard try await log.header(id: sessionID)?.environmentID == environmentID else { throw APIError.notFound("session", sessionID) }
        default:
            throw Self.outOfScope
        }
    }

    /// `GET /v1/sessions/{id}`, its events (list, stream, send) and its threads' reads.
    private static func isSessionEventRoute(_ parts: [String], method: HTTPRequest.Method) -> Bool {
        switch parts.count {
        case 3: return method == .get
        case 4: return parts[3] == "events" && (method == .get || method == .post) || parts[3] == "threads" && method == .get
        case 5: return (parts[3] == "events" && parts[4] == "stream" || parts[3] == "threads") && method == .get
        case 6: return parts[3] == "threads" && ["events", "stream"].contains(parts[5]) && method == .get
        default: return false
        }
    }

    static let outOfScope = APIError(
        .permission, "this credential can only reach its environment's work queue and the events of that environment's sessions")
}
