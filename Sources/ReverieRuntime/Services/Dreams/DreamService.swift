import Foundation
import ReverieCore
import ReverieStore

/// `/v1/dreams`: dreams are queued here and handed to the `DreamScheduler` that runs them;
/// review decisions are applied to the output store through the `MemoryService`.
public struct DreamService: Sendable {
    let store: any Store
    let memory: MemoryService
    let scheduler: any DreamScheduler

    public init(store: any Store, memory: MemoryService, scheduler: any DreamScheduler) {
        self.store = store
        self.memory = memory
        self.scheduler = scheduler
    }
}

extension DreamService {
    /// `POST /v1/dreams`: validates the inputs (the store and every session must exist) and
    /// queues the dream.
    public func createDream(_ request: DreamRequest) async throws -> Dream {
        let memoryStore = try await store.memoryStore(id: request.memoryStoreID)
        guard let memoryStore else {
            throw APIError.invalidRequest("inputs: memory store '\(request.memoryStoreID)' not found")
        }
        if request.outputBehavior != .createNew, memoryStore.archivedAt != nil {
            throw APIError.invalidRequest("output_behavior: memory store '\(memoryStore.id)' is archived and can't be updated in place")
        }
        for id in request.sessionIDs where try await store.sessionHeader(id: id) == nil {
            throw APIError.invalidRequest("inputs: session '\(id)' not found")
        }
        let now = Timestamp.now()
        let dream = Dream(
            id: ResourceID.make(ResourceID.dream, at: now), memoryStoreID: request.memoryStoreID, sessionIDs: request.sessionIDs,
            model: request.model, instructions: request.instructions, outputBehavior: request.outputBehavior, tokenBudget: request.tokenBudget,
            createdAt: now)
        try await store.createDream(dream)
        await scheduler.dreamCreated(id: dream.id)
        return dream
    }

    /// `GET /v1/dreams/{id}`.
    public func dream(id: String) async throws -> Dream {
        guard let dream = try await store.dream(id: id) else { throw APIError.notFound("dream", id) }
        return dream
    }

    /// `GET /v1/dreams`.
    public func listDreams(_ filter: DreamFilter, page: PageRequest) async throws -> Page<Dream> {
        try await store.listDreams(filter, page: page)
    }

    /// `POST /v1/dreams/{id}/cancel`: idempotent on a canceled dream; a completed or failed
    /// dream can't be canceled.
    public func cancelDream(id: String) async throws -> Dream {
        let now = Timestamp.now()
        let dream = try await store.updateDream(id: id) { current in
            switch current.status {
            case .canceled:
                return current
            case .completed, .failed:
                throw APIError.invalidRequest("dream '\(id)' is \(current.status.rawValue); only pending or running dreams can be canceled")
            case .pending, .running:
                var next = current
                next.status = .canceled
                next.endedAt = now
                next.updatedAt = now
                return next
            }
        }
        await scheduler.dreamCanceled(id: id)
        return dream
    }

    /// `POST /v1/dreams/{id}/archive`: idempotent; refused while the dream is unfinished.
    public func archiveDream(id: String) async throws -> Dream {
        let now = Timestamp.now()
        return try await store.updateDream(id: id) { current in
            guard current.archivedAt == nil else { return current }
            guard current.status.isTerminal else {
                throw APIError.invalidRequest("dream '\(id)' is \(current.status.rawValue); cancel it or wait for it to finish before archiving")
            }
            var next = current
            next.archivedAt = now
            next.updatedAt = now
            return next
        }
    }

    /// `GET /v1/dreams/{id}/report` (Reverie extension): what the dream did and refused.
    public func dreamReport(id: String) async throws -> DreamReport {
        let dream = try await self.dream(id: id)
        guard let report = try await store.dreamReport(id: id) else {
            throw APIError.invalidRequest("dream '\(id)' is \(dream.status.rawValue) and has no report yet")
        }
        return report
    }
}

extension DreamService {
    /// `GET /v1/dreams/{id}/report?format=markdown`: the report for people.
    public func dreamReportMarkdown(id: String) async throws -> String {
        let dream = try await self.dream(id: id)
        return DreamReportMarkdown.render(try await dreamReport(id: id), dream: dream)
    }
}
