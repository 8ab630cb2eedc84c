import Foundation
import ReverieCore
import ReverieStore

/// `/v1/sessions/{id}/resources`: the resources attached to a session: memory stores,
/// identified here by their `memory_store_id` (the API's memory store resource has no id of
/// its own), and files (`sesrsc_…`).
extension SessionService {
    /// `GET /v1/sessions/{id}/resources`: the resources in the order they were attached, `limit`
    /// at a time (all of them without a limit); the cursor holds the position to go on from.
    public func sessionResources(sessionID: String, limit: Int?, cursor: Cursor?) async throws -> Page<SessionResource> {
        let all = try await session(id: sessionID).resources
        let start = max(0, Int(cursor?.position ?? 0))
        let end = limit.map { min(all.count, start + $0) } ?? all.count
        let items = start < end ? Array(all[start..<end]) : []
        return Page(items: items, next: end < all.count ? Cursor(position: Int64(end), id: sessionID) : nil)
    }

    /// `GET /v1/sessions/{id}/resources/{resource_id}`.
    public func sessionResource(sessionID: String, id: String) async throws -> SessionResource {
        guard let resource = try await session(id: sessionID).resources.first(where: { $0.id == id }) else {
            throw APIError.notFound("session_resource", id)
        }
        return resource
    }

    /// `POST /v1/sessions/{id}/resources`: mounts an uploaded file into a session that is not
    /// running (its next turn sees it). Memory stores are attached when the session is created.
    public func addSessionResource(sessionID: String, _ body: ObjectReader) async throws -> SessionResource {
        let type = try body.discriminator()
        guard type == "file" else {
            _ = try await session(id: sessionID)
            throw APIError.invalidRequest(
                "type: '\(type)' resources cannot be added to an existing session; attach memory stores in `resources` when creating the session")
        }
        let request = try FileMountRequest(body)
        let environmentID = try await session(id: sessionID).environmentID
        if try await store.environment(id: environmentID)?.config == .selfHosted { throw Self.filesOnSelfHosted(environmentID) }
        let now = Timestamp.now()
        let mount = try await fileMount(request, at: now)
        _ = try await store.updateSession(id: sessionID) { current in
            if current.archivedAt != nil { throw APIError.archived("session", sessionID) }
            if current.status == .running || current.status == .rescheduling {
                throw APIError.conflict(
                    "session '\(sessionID)' is \(current.status.rawValue); send a user.interrupt and wait for it to go idle before adding resources")
            }
            if current.resources.filter({ if case .file = $0 { true } else { false } }).count >= FileMountRequest.maxFiles {
                throw APIError.invalidRequest("a session mounts at most \(FileMountRequest.maxFiles) files")
            }
            if current.resources.contains(where: { if case .file(let other) = $0 { other.mountPath == mount.mountPath } else { false } }) {
                throw APIError.invalidRequest("mount_path: '\(mount.mountPath)' is used by another file of this session")
            }
            var next = current
            next.resources.append(.file(mount))
            next.updatedAt = now
            return next
        }
        await driver.sessionResourcesChanged(id: sessionID)
        return .file(mount)
    }

    /// Files are mounted into the server's sandboxes; a `self_hosted` environment's workers
    /// (the SDK's `EnvironmentWorker`, `reverie worker`) have no way to mount them.
    static func filesOnSelfHosted(_ environmentID: String) -> APIError {
        APIError(
            .invalidRequest,
            "resources: environment '\(environmentID)' is self_hosted, and its workers cannot mount file resources (only the server's own sandboxes mount files)",
            details: ["error_code": "self_hosted_resources_unsupported"])
    }

    /// A file resource for a file that exists (else 400 naming `file_id`).
    func fileMount(_ request: FileMountRequest, at now: Date) async throws -> FileMount {
        guard let file = try await store.file(id: request.fileID), !file.isExpired(at: now) else {
            throw APIError.invalidRequest("\(request.field): file '\(request.fileID)' not found")
        }
        return FileMount(id: ResourceID.make(ResourceID.sessionResource, at: now), fileID: file.id, mountPath: request.mountPath, createdAt: now, updatedAt: now)
    }

    /// `POST /v1/sessions/{id}/resources/{resource_id}`: the API rotates GitHub repository
    /// tokens here; memory store attachments have nothing to update.
    public func updateSessionResource(sessionID: String, id: String) async throws -> Never {
        let resource = try await sessionResource(sessionID: sessionID, id: id)
        throw APIError.invalidRequest(
            "only github_repository resources can be updated (authorization_token); '\(resource.id)' is a \(resource.type) resource")
    }

    /// `DELETE /v1/sessions/{id}/resources/{resource_id}`: detaches a memory store from an
    /// idle session; its next turn no longer mounts it (the store itself is untouched).
    public func deleteSessionResource(sessionID: String, id: String) async throws {
        let now = Timestamp.now()
        _ = try await store.updateSession(id: sessionID) { current in
            if current.archivedAt != nil { throw APIError.archived("session", sessionID) }
            if current.status == .running || current.status == .rescheduling {
                throw APIError.conflict(
                    "session '\(sessionID)' is \(current.status.rawValue); send a user.interrupt and wait for it to go idle before detaching resources")
            }
            guard current.resources.contains(where: { $0.id == id }) else { throw APIError.notFound("session_resource", id) }
            var next = current
            next.resources.removeAll { $0.id == id }
            next.updatedAt = now
            return next
        }
        await driver.sessionResourcesChanged(id: sessionID)
    }
}

extension SessionResource {
    /// The resource's id in `/v1/sessions/{id}/resources/{resource_id}`.
    public var id: String {
        switch self {
        case .memoryStore(let mount): mount.memoryStoreID
        case .file(let mount): mount.id
        }
    }

    /// The resource's `type`.
    public var type: String {
        switch self {
        case .memoryStore: "memory_store"
        case .file: "file"
        }
    }
}
