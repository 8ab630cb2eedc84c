import Foundation
import ReverieCore

extension DreamService {
    /// `POST /v1/dreams/{id}/promote` (Reverie extension): puts a completed dream's output in
    /// place of its input store, so every agent and session that mounts the input store sees
    /// the dreamed memories from then on (the store id does not change).
    ///
    /// - `apply` (default) replays the dream's operations that were not rejected, and the
    ///   withheld ones a reviewer accepted, onto the input store. It is refused as a whole,
    ///   changing nothing, when a path no longer holds what the dream read.
    /// - `replace` makes the input store's memories exactly the output store's, including any
    ///   edits a reviewer made to the output store by hand.
    ///
    /// Promoting accepts every operation still pending; every write is a version by the caller.
    /// A dream is promoted once; a `dream.promoted` webhook event follows.
    public func promoteDream(id: String, _ request: DreamPromoteRequest, actor: MemoryActor) async throws -> DreamReport {
        let dream = try await self.dream(id: id)
        guard dream.status == .completed else {
            throw APIError.invalidRequest("dream '\(id)' is \(dream.status.rawValue); only a completed dream can be promoted")
        }
        guard dream.inPlaceStoreID == nil else {
            throw APIError.invalidRequest("dream '\(id)' wrote into its input store '\(dream.memoryStoreID)'; there is nothing to promote")
        }
        guard var report = try await store.dreamReport(id: id), let outputID = dream.outputStoreID ?? report.outputStoreID else {
            throw APIError.invalidRequest("dream '\(id)' has no report")
        }
        if let promotion = report.promotion {
            throw APIError.conflict("dream '\(id)' was already promoted into '\(promotion.memoryStoreID)'")
        }
        let input = try await memory.memoryStore(id: dream.memoryStoreID)
        if input.archivedAt != nil {
            throw APIError.invalidRequest("memory store '\(input.id)' is archived; unarchive it or mount the dream's output store instead")
        }
        let writer = DreamWriter(memory: memory)
        var changed: [String] = []
        switch request.strategy {
        case .apply:
            let operations = report.operations.filter { $0.review != .rejected } + report.withheld.filter { $0.review == .accepted }
            var stale: [String] = []
            for operation in operations {
                let current = try await memory.readMemory(storeID: input.id, path: operation.path)?.content
                let before = operation.action == .add ? nil : operation.previousContent
                if current != operation.target, current != before { stale.append(operation.path) }
            }
            guard stale.isEmpty else {
                throw APIError.conflict(
                    "the input store changed since the dream read it (\(stale.joined(separator: ", "))); review those paths, or promote with strategy 'replace'")
            }
            for operation in operations {
                try Task.checkCancellation()
                let current = try await memory.readMemory(storeID: input.id, path: operation.path)?.content
                guard current != operation.target else { continue }
                try await writer.moveTo(operation.target, path: operation.path, storeID: input.id, actor: actor)
                changed.append(operation.path)
            }
        case .replace:
            let wanted = Dictionary(try await memory.memoryFiles(storeID: outputID).map { ($0.path, $0.content) }, uniquingKeysWith: { first, _ in first })
            let present = Dictionary(try await memory.memoryFiles(storeID: input.id).map { ($0.path, $0.content) }, uniquingKeysWith: { first, _ in first })
            for path in Set(wanted.keys).union(present.keys).sorted() where wanted[path] != present[path] {
                try Task.checkCancellation()
                try await writer.moveTo(wanted[path], path: path, storeID: input.id, actor: actor)
                changed.append(path)
            }
        }
        for index in report.operations.indices where report.operations[index].review == .pending {
            report.operations[index].review = .accepted
        }
        report.promotion = DreamPromotion(strategy: request.strategy, memoryStoreID: input.id, changedPaths: changed, promotedAt: Timestamp.now())
        try await store.saveDreamReport(report)
        try await store.appendOutboxEvents([.dream(type: .promoted, dreamID: id)])
        return report
    }
}
