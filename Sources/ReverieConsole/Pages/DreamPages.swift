import Foundation
import Hummingbird
import ReverieCore
import ReverieRuntime
import ReverieStore

extension Console {
    /// Dreams, one dream's report, the per-change review (accept or reject each operation and
    /// each withheld item) and promotion, through the same `DreamService` calls as the API.
    func registerDreams<Context: RequestContext>(on router: Router<Context>) {
        router.get("console/dreams") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let dreams = try await self.platform.dreams.listDreams(DreamFilter(), page: PageRequest(limit: 100))
                let rows: [[String: Any]] = dreams.items.map {
                    ["id": $0.id, "status": $0.status.rawValue, "store": $0.memoryStoreID, "sessions": $0.sessionIDs.count,
                     "stage": $0.stage ?? "", "created": DisplayFormat.shortDate($0.createdAt), "output": $0.outputStoreID ?? ""]
                }
                return self.page("dreams", title: "Dreams", section: .dreams, signedIn: signedIn, data: ["dreams": rows, "empty": rows.isEmpty])
            }
        }
        router.get("console/dreams/:dream_id") { request, context in
            await self.guardedPage(request, context) { signedIn in try await self.dreamPage(id: context.parameters.get("dream_id") ?? "", signedIn) }
        }
        router.post("console/dreams/:dream_id/review") { request, context in
            await self.guardedAction(request, context) { signedIn, form in
                let id = context.parameters.get("dream_id") ?? ""
                let review = try DreamReviewRequest(try ObjectReader(.object([
                    "decision": .string(form.string("decision") ?? ""),
                    "operation_ids": .array([.string(form.string("operation_id") ?? "")]),
                ])))
                _ = try await self.platform.dreams.reviewDream(id: id, review, reviewer: signedIn.actor)
                return Self.redirect(to: "/console/dreams/\(urlEncoded(id))#\(urlEncoded(form.string("operation_id") ?? ""))")
            }
        }
        router.post("console/dreams/:dream_id/promote") { request, context in
            await self.guardedAction(request, context) { signedIn, form in
                let id = context.parameters.get("dream_id") ?? ""
                let promote = try DreamPromoteRequest(try ObjectReader(.object(["strategy": .string(form.string("strategy") ?? "apply")])))
                _ = try await self.platform.dreams.promoteDream(id: id, promote, actor: signedIn.actor)
                return Self.redirect(to: "/console/dreams/\(urlEncoded(id))")
            }
        }
    }

    private func dreamPage(id: String, _ signedIn: SignedIn) async throws -> Response {
        let dream = try await platform.dreams.dream(id: id)
        var report: DreamReport?
        if dream.status == .completed { report = try await platform.dreams.dreamReport(id: id) }
        let reviewable = dream.status == .completed && report?.promotion == nil
        func operation(_ op: DreamOperation, withheld: Bool) -> [String: Any] {
            let diff = LineDiff(from: op.previousContent ?? "", to: op.content ?? (op.action == .delete ? "" : op.previousContent ?? ""))
            return [
                "id": op.id, "dream": dream.id, "action": op.action.rawValue, "path": op.path, "rationale": op.rationale, "review": op.review.rawValue,
                "pending": op.review == .pending && reviewable, "withheld": withheld, "heldBecause": op.heldBecause ?? "",
                "diff": diff.view, "hasDiff": op.action != .keep,
                "evidence": op.evidence.map { evidence -> [String: Any] in
                    let quoted = Dictionary(evidence.quotes.map { ($0.eventID, $0.text) }, uniquingKeysWith: { first, _ in first })
                    return ["session": evidence.sessionID, "sessionHref": "/console/sessions/\(urlEncoded(evidence.sessionID))",
                            "quotes": evidence.eventIDs.map { eventID -> [String: Any] in
                                ["eventID": eventID, "text": quoted[eventID] ?? "",
                                 "href": "/console/sessions/\(urlEncoded(evidence.sessionID))/events/\(urlEncoded(eventID))"]
                            }]
                },
            ]
        }
        var data: [String: Any] = [
            "id": dream.id, "status": dream.status.rawValue, "store": dream.memoryStoreID, "output": dream.outputStoreID ?? "",
            "model": dream.model, "instructions": dream.instructions ?? "", "stage": dream.stage ?? "", "created": DisplayFormat.shortDate(dream.createdAt),
            "ended": DisplayFormat.shortDate(dream.endedAt), "usage": DisplayFormat.tokens(dream.usage), "error": dream.error?.message ?? "",
            "sessions": dream.sessionIDs.map { ["id": $0, "href": "/console/sessions/\(urlEncoded($0))"] },
            "hasReport": report != nil, "reviewable": reviewable,
        ]
        if let report {
            data["operations"] = report.operations.map { operation($0, withheld: false) }
            data["withheldOps"] = report.withheld.map { operation($0, withheld: true) }
            data["refused"] = report.refused.map { ["action": $0.action, "path": $0.path, "reason": $0.reason] }
            data["quarantined"] = report.quarantinedTranscript.map {
                ["text": $0.text, "eventID": $0.eventID, "href": "/console/sessions/\(urlEncoded($0.sessionID))/events/\(urlEncoded($0.eventID))"]
            }
            data["candidates"] = report.candidates
            data["withoutEvidence"] = report.candidatesWithoutEvidence
            data["readSessions"] = report.reading.sessions
            data["secrets"] = report.secretsRedacted
            data["noOperations"] = report.operations.isEmpty && report.withheld.isEmpty
            if let promotion = report.promotion {
                data["promotion"] = ["strategy": promotion.strategy.rawValue, "store": promotion.memoryStoreID,
                                     "paths": promotion.changedPaths, "at": DisplayFormat.shortDate(promotion.promotedAt)]
            }
        }
        return page("dream", title: "Dream \(dream.id)", section: .dreams, signedIn: signedIn, data: data)
    }
}
