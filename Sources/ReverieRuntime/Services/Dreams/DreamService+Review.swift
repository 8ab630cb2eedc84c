import Foundation
import ReverieCore

extension DreamService {
    /// `POST /v1/dreams/{id}/review` (Reverie extension): accepts or rejects a completed
    /// dream's operations — those named in `operation_ids`, or every pending applied one.
    /// A rejected applied operation is reverted in the output store (as a version by the
    /// dream); an accepted withheld one (`wh_…`) is written there, as the reviewer. Withheld
    /// operations are decided only by name, never in bulk. Deciding an operation again the
    /// same way changes nothing; reversing a decision, or deciding after promotion, is refused.
    public func reviewDream(id: String, _ request: DreamReviewRequest, reviewer: MemoryActor) async throws -> DreamReport {
        let (decision, requested) = (request.decision, request.operationIDs)
        let dream = try await self.dream(id: id)
        guard dream.status == .completed else {
            throw APIError.invalidRequest("dream '\(id)' is \(dream.status.rawValue); only a completed dream's operations can be reviewed")
        }
        guard var report = try await store.dreamReport(id: id), let storeID = dream.outputStoreID ?? report.outputStoreID else {
            throw APIError.invalidRequest("dream '\(id)' has no report")
        }
        if let promotion = report.promotion {
            throw APIError.conflict("dream '\(id)' was promoted into '\(promotion.memoryStoreID)'; change that store's memories instead")
        }
        let ids = requested ?? report.operations.filter { $0.review == .pending }.map(\.id)
        for (index, operationID) in ids.enumerated() where report.operation(id: operationID) == nil {
            throw APIError.invalidRequest("operation_ids[\(index)]: dream '\(id)' has no operation '\(operationID)'")
        }
        let writer = DreamWriter(memory: memory)
        for operationID in ids {
            if let index = report.operations.firstIndex(where: { $0.id == operationID }) {
                let operation = report.operations[index]
                if operation.review == decision { continue }
                guard operation.review == .pending else {
                    throw APIError.conflict("operation '\(operationID)' was already \(operation.review.rawValue)")
                }
                if decision == .rejected { try await writer.revert(operation, dreamID: id, storeID: storeID) }
                report.operations[index].review = decision
            } else if let index = report.withheld.firstIndex(where: { $0.id == operationID }) {
                let operation = report.withheld[index]
                if operation.review == decision { continue }
                guard operation.review == .pending else {
                    throw APIError.conflict("operation '\(operationID)' was already \(operation.review.rawValue)")
                }
                if decision == .accepted { try await writer.applyAccepted(operation, storeID: storeID, reviewer: reviewer) }
                report.withheld[index].review = decision
            }
            // Saved after each decision, so a failure part-way loses none that were applied.
            try await store.saveDreamReport(report)
        }
        return report
    }
}
