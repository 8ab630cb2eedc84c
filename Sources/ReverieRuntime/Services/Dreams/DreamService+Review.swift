import Foundation
import ReverieCore

extension DreamService {
    /// `POST /v1/dreams/{id}/review` (Reverie extension): accepts or rejects a completed
    /// dream's operations — those named in `operation_ids`, or every pending one. A rejected
    /// operation is reverted in the output store (as a version by the dream); deciding an
    /// operation again the same way changes nothing, and reversing a decision is refused.
    public func reviewDream(id: String, _ request: DreamReviewRequest) async throws -> DreamReport {
        let (decision, requested) = (request.decision, request.operationIDs)
        let dream = try await self.dream(id: id)
        guard dream.status == .completed else {
            throw APIError.invalidRequest("dream '\(id)' is \(dream.status.rawValue); only a completed dream's operations can be reviewed")
        }
        guard var report = try await store.dreamReport(id: id), let storeID = dream.outputStoreID ?? report.outputStoreID else {
            throw APIError.invalidRequest("dream '\(id)' has no report")
        }
        let ids = requested ?? report.operations.filter { $0.review == .pending }.map(\.id)
        for (index, operationID) in ids.enumerated() where !report.operations.contains(where: { $0.id == operationID }) {
            throw APIError.invalidRequest("operation_ids[\(index)]: dream '\(id)' has no operation '\(operationID)'")
        }
        let writer = DreamWriter(memory: memory)
        for operationID in ids {
            guard let index = report.operations.firstIndex(where: { $0.id == operationID }) else { continue }
            let operation = report.operations[index]
            if operation.review == decision { continue }
            guard operation.review == .pending else {
                throw APIError.conflict("operation '\(operationID)' was already \(operation.review.rawValue)")
            }
            if decision == .rejected { try await writer.revert(operation, dreamID: id, storeID: storeID) }
            report.operations[index].review = decision
            // Saved after each decision, so a failure part-way loses none that were applied.
            try await store.saveDreamReport(report)
        }
        try await writer.writeMarkdown(report, dream: dream, storeID: storeID)
        return report
    }
}
