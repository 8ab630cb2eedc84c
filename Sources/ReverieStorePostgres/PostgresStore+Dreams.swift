import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    public func createDream(_ dream: Dream) async throws {
        let body = try Self.encode(dream)
        do {
            try await write { db in
                if let target = dream.inPlaceStoreID,
                    let other = try await db.scalar(
                        String.self, "SELECT id FROM dreams WHERE in_place_store_id = ? AND status IN ('pending', 'running')", [target])
                {
                    throw Self.inPlaceConflict(target, other)
                }
                try await db.execute(
                    """
                    INSERT INTO dreams (id, created_at, archived_at, status, memory_store_id, in_place_store_id, body)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        dream.id, Timestamp.micros(dream.createdAt), dream.archivedAt.map(Timestamp.micros), dream.status.rawValue, dream.memoryStoreID,
                        dream.inPlaceStoreID, body,
                    ])
                try await Self.enqueue([.dream(type: .created, dreamID: dream.id, at: dream.createdAt)], db)
            }
        } catch where SQLState.of(error) == SQLState.uniqueViolation && dream.inPlaceStoreID != nil {
            // Another process created one for the same store between the check and the insert.
            throw Self.inPlaceConflict(dream.inPlaceStoreID ?? "", "another dream")
        }
    }

    private static func inPlaceConflict(_ target: String, _ other: String) -> APIError {
        APIError.conflict("memory store '\(target)' is already being updated in place by dream '\(other)'; wait for it to finish or cancel it")
    }

    public func dream(id: String) async throws -> Dream? {
        try await read { db in
            try await db.scalar(String.self, "SELECT body FROM dreams WHERE id = ?", [id]).map { try Self.decode(Dream.self, $0) }
        }
    }

    public func updateDream(id: String, _ change: @Sendable (Dream) throws -> Dream) async throws -> Dream {
        try await write { db in
            guard let body = try await db.scalar(String.self, "SELECT body FROM dreams WHERE id = ? FOR UPDATE", [id]) else {
                throw APIError.notFound("dream", id)
            }
            let current = try Self.decode(Dream.self, body)
            let next = try change(current)
            guard next != current else { return current }
            try await db.execute(
                "UPDATE dreams SET archived_at = ?, status = ?, body = ? WHERE id = ?",
                [next.archivedAt.map(Timestamp.micros), next.status.rawValue, try Self.encode(next), id])
            if next.status != current.status, next.status != .pending {
                try await Self.enqueue([.dream(status: next.status, dreamID: id, at: next.updatedAt)], db)
            }
            return next
        }
    }

    public func listDreams(_ filter: DreamFilter, page: PageRequest) async throws -> Page<Dream> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            if !filter.includeArchived { query.filter("archived_at IS NULL") }
            if !filter.statuses.isEmpty { query.filter("status = ANY(?)", [filter.statuses.map(\.rawValue).sorted()]) }
            query.filter(filter.createdAt, column: "created_at")
            return try await query.page(
                db, from: "dreams", select: "id, created_at, body", page: page,
                decode: { try Self.decode(Dream.self, $0["body"]) }, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func unfinishedDreamIDs() async throws -> [String] {
        try await read { db in
            try await db.column(String.self, "SELECT id FROM dreams WHERE status IN ('pending', 'running') ORDER BY created_at, id")
        }
    }

    public func dreamReport(id: String) async throws -> DreamReport? {
        try await read { db in
            try await db.scalar(String.self, "SELECT report FROM dreams WHERE id = ?", [id]).map { try Self.decode(DreamReport.self, $0) }
        }
    }

    public func saveDreamReport(_ report: DreamReport) async throws {
        let body = try Self.encode(report)
        try await write { db in
            guard try await db.execute("UPDATE dreams SET report = ? WHERE id = ? RETURNING 1", [body, report.dreamID]) == 1 else {
                throw APIError.notFound("dream", report.dreamID)
            }
        }
    }

    // MARK: dream policies

    public func putDreamPolicy(_ policy: DreamPolicy) async throws -> DreamPolicy {
        try await write { db in
            // Serializes puts of one store's policy, whether or not it exists yet.
            try await db.execute("SELECT pg_advisory_xact_lock(hashtext(?))", ["dream_policy:" + policy.memoryStoreID])
            var next = policy
            if let body = try await db.scalar(String.self, "SELECT body FROM dream_policies WHERE memory_store_id = ? FOR UPDATE", [policy.memoryStoreID]) {
                let current = try Self.decode(DreamPolicy.self, body)
                next.state = current.state
                next.createdAt = current.createdAt
            }
            try await db.execute(
                "INSERT INTO dream_policies (memory_store_id, body) VALUES (?, ?) ON CONFLICT (memory_store_id) DO UPDATE SET body = excluded.body",
                [policy.memoryStoreID, try Self.encode(next)])
            return next
        }
    }

    public func dreamPolicy(memoryStoreID: String) async throws -> DreamPolicy? {
        try await read { db in
            try await db.scalar(String.self, "SELECT body FROM dream_policies WHERE memory_store_id = ?", [memoryStoreID])
                .map { try Self.decode(DreamPolicy.self, $0) }
        }
    }

    public func updateDreamPolicy(memoryStoreID: String, _ change: @Sendable (DreamPolicy) throws -> DreamPolicy) async throws -> DreamPolicy {
        try await write { db in
            guard let body = try await db.scalar(String.self, "SELECT body FROM dream_policies WHERE memory_store_id = ? FOR UPDATE", [memoryStoreID])
            else { throw APIError.notFound("dream policy of memory store", memoryStoreID) }
            let current = try Self.decode(DreamPolicy.self, body)
            let next = try change(current)
            guard next != current else { return current }
            try await db.execute("UPDATE dream_policies SET body = ? WHERE memory_store_id = ?", [try Self.encode(next), memoryStoreID])
            return next
        }
    }

    public func deleteDreamPolicy(memoryStoreID: String) async throws -> Bool {
        try await write { db in
            try await db.execute("DELETE FROM dream_policies WHERE memory_store_id = ? RETURNING 1", [memoryStoreID]) > 0
        }
    }

    public func listDreamPolicies() async throws -> [DreamPolicy] {
        try await read { db in
            try await db.column(String.self, "SELECT body FROM dream_policies ORDER BY memory_store_id").map { try Self.decode(DreamPolicy.self, $0) }
        }
    }

    public func endedSessionIDs(mountingMemoryStore storeID: String, since: Date, excluding: Set<String>, limit: Int) async throws -> [String] {
        try await read { db in
            let all = try await db.column(
                String.self,
                """
                SELECT s.id FROM session_memory_stores m JOIN sessions s ON s.id = m.session_id
                WHERE m.memory_store_id = ? AND s.created_at >= ? AND s.status IN ('idle', 'terminated') AND s.archived_at IS NULL
                ORDER BY s.created_at, s.id
                """, [storeID, Timestamp.micros(since)])
            return Array(all.filter { !excluding.contains($0) }.prefix(limit))
        }
    }

    // MARK: evaluations

    public func createEvaluation(_ evaluation: Evaluation) async throws {
        let body = try Self.encode(evaluation)
        try await write { db in
            try await db.execute(
                "INSERT INTO evaluations (id, created_at, status, body) VALUES (?, ?, ?, ?)",
                [evaluation.id, Timestamp.micros(evaluation.createdAt), evaluation.status.rawValue, body])
            try await Self.enqueue([.evaluation(type: .created, evaluationID: evaluation.id, at: evaluation.createdAt)], db)
        }
    }

    public func evaluation(id: String) async throws -> Evaluation? {
        try await read { db in
            try await db.scalar(String.self, "SELECT body FROM evaluations WHERE id = ?", [id]).map { try Self.decode(Evaluation.self, $0) }
        }
    }

    public func updateEvaluation(id: String, _ change: @Sendable (Evaluation) throws -> Evaluation) async throws -> Evaluation {
        try await write { db in
            guard let body = try await db.scalar(String.self, "SELECT body FROM evaluations WHERE id = ? FOR UPDATE", [id]) else {
                throw APIError.notFound("evaluation", id)
            }
            let current = try Self.decode(Evaluation.self, body)
            let next = try change(current)
            guard next != current else { return current }
            try await db.execute("UPDATE evaluations SET status = ?, body = ? WHERE id = ?", [next.status.rawValue, try Self.encode(next), id])
            if next.status != current.status, let event = OutboxEvent.EvaluationEvent(status: next.status), event != .created {
                try await Self.enqueue([.evaluation(type: event, evaluationID: id, at: next.updatedAt)], db)
            }
            return next
        }
    }

    public func listEvaluations(page: PageRequest) async throws -> Page<Evaluation> {
        try await read { db in
            try await PostgresKeysetQuery(sortColumn: "created_at").page(
                db, from: "evaluations", select: "id, created_at, body", page: page,
                decode: { try Self.decode(Evaluation.self, $0["body"]) }, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func unfinishedEvaluationIDs() async throws -> [String] {
        try await read { db in
            try await db.column(String.self, "SELECT id FROM evaluations WHERE status IN ('pending', 'running') ORDER BY created_at, id")
        }
    }
}
