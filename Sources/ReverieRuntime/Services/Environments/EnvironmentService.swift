import Foundation
import ReverieCore
import ReverieStore

/// `/v1/environments`.
public struct EnvironmentService: Sendable {
    let store: any EnvironmentStore & WorkQueueStore

    public init(store: any EnvironmentStore & WorkQueueStore) {
        self.store = store
    }
}

extension EnvironmentService {
    /// `POST /v1/environments`.
    public func createEnvironment(_ request: EnvironmentRequest) async throws -> Environment {
        let now = Timestamp.now()
        let environment = try request.makeEnvironment(id: ResourceID.make(ResourceID.environment, at: now), now: now)
        try await store.createEnvironment(environment)
        return environment
    }

    /// `GET /v1/environments/{id}`.
    public func environment(id: String) async throws -> Environment {
        guard let environment = try await store.environment(id: id) else { throw APIError.notFound("environment", id) }
        return environment
    }

    /// `POST /v1/environments/{id}`.
    public func updateEnvironment(id: String, _ request: EnvironmentRequest) async throws -> Environment {
        let now = Timestamp.now()
        return try await store.updateEnvironment(id: id) { current in
            if current.archivedAt != nil { throw APIError.archived("environment", id) }
            return try request.applied(to: current, now: now)
        }
    }

    /// `GET /v1/environments`.
    public func listEnvironments(includeArchived: Bool, page: PageRequest) async throws -> Page<Environment> {
        try await store.listEnvironments(includeArchived: includeArchived, page: page)
    }

    /// `DELETE /v1/environments/{id}`.
    public func deleteEnvironment(id: String) async throws {
        try await store.deleteEnvironment(id: id)
    }

    /// `POST /v1/environments/{id}/archive`.
    public func archiveEnvironment(id: String) async throws -> Environment {
        let now = Timestamp.now()
        return try await store.updateEnvironment(id: id) { current in
            guard current.archivedAt == nil else { return current }
            var next = current
            next.archivedAt = now
            next.updatedAt = now
            return next
        }
    }
}
