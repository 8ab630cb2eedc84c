import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    static let evaluationsSchema = """
        CREATE TABLE evaluations (
            id TEXT PRIMARY KEY,
            created_at INTEGER NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX evaluations_created ON evaluations(created_at, id);
        CREATE INDEX evaluations_unfinished ON evaluations(status) WHERE status IN ('pending', 'running');
        """

    public func createEvaluation(_ evaluation: Evaluation) async throws {
        let body = try Self.encode(evaluation)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO evaluations (id, created_at, status, body) VALUES (?, ?, ?, ?)",
                arguments: [evaluation.id, Timestamp.micros(evaluation.createdAt), evaluation.status.rawValue, body])
            try Self.enqueue([.evaluation(type: .created, evaluationID: evaluation.id, at: evaluation.createdAt)], db)
        }
    }

    public func evaluation(id: String) async throws -> Evaluation? {
        try await read { db in
            try String.fetchOne(db, sql: "SELECT body FROM evaluations WHERE id = ?", arguments: [id]).map { try Self.decode(Evaluation.self, $0) }
        }
    }

    public func updateEvaluation(id: String, _ change: @Sendable (Evaluation) throws -> Evaluation) async throws -> Evaluation {
        try await write { db in
            guard let body = try String.fetchOne(db, sql: "SELECT body FROM evaluations WHERE id = ?", arguments: [id]) else {
                throw APIError.notFound("evaluation", id)
            }
            let current = try Self.decode(Evaluation.self, body)
            let next = try change(current)
            guard next != current else { return current }
            try db.execute(
                sql: "UPDATE evaluations SET status = ?, body = ? WHERE id = ?", arguments: [next.status.rawValue, try Self.encode(next), id])
            if next.status != current.status, let event = OutboxEvent.EvaluationEvent(status: next.status), event != .created {
                try Self.enqueue([.evaluation(type: event, evaluationID: id, at: next.updatedAt)], db)
            }
            return next
        }
    }

    public func listEvaluations(page: PageRequest) async throws -> Page<Evaluation> {
        try await read { db in
            try KeysetQuery(sortColumn: "created_at").page(
                db, from: "evaluations", select: "id, created_at, body", page: page,
                decode: { try Self.decode(Evaluation.self, $0["body"]) },
                position: { ($0["created_at"], $0["id"]) })
        }
    }

    public func unfinishedEvaluationIDs() async throws -> [String] {
        try await read { db in
            try String.fetchAll(db, sql: "SELECT id FROM evaluations WHERE status IN ('pending', 'running') ORDER BY created_at, id")
        }
    }
}
