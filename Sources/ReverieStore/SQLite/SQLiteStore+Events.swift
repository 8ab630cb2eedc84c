import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func appendEvents(_ events: [SessionEvent], to sessionID: String, check: @escaping @Sendable (SessionHeader) throws -> Void)
        async throws -> (SessionHeader, [StoredEvent])
    {
        try await appendQueue.append(events, to: sessionID, check: check) { await self.drainAppends() }
    }

    /// What group commit did so far.
    public var groupCommitCounts: GroupCommitCounts { appendQueue.counts }

    /// Commits queued appends, a batch per write transaction, until the queue is empty.
    private func drainAppends() async {
        while let batch = appendQueue.nextBatch() {
            await commit(batch)
        }
    }

    /// Commits a batch of appends in one transaction. A refused append (its `check` throws)
    /// writes nothing and fails alone. If writing one fails, the transaction is rolled back
    /// and the batch runs again with each append in its own savepoint, so that one fails
    /// alone too; if the commit itself fails, every append in the batch fails with it.
    private func commit(_ batch: [EventAppendQueue.Request]) async {
        let cache = headers
        do {
            let results: [Result<(SessionHeader, [StoredEvent]), any Error>]
            do {
                results = try await write { db in try Self.apply(batch, cache: cache, isolated: false, db) }
            } catch is AppendNeedsIsolation {
                appendQueue.noteIsolatedRetry()
                results = try await write { db in try Self.apply(batch, cache: cache, isolated: true, db) }
            }
            for (request, result) in zip(batch, results) { request.continuation.resume(with: result) }
        } catch {
            for request in batch { request.continuation.resume(throwing: error) }
        }
    }

    /// Thrown out of a batch transaction when an append failed while writing without savepoints.
    private struct AppendNeedsIsolation: Error {}

    /// Applies a batch inside the current transaction; `isolated` puts each append in a savepoint.
    private static func apply(_ batch: [EventAppendQueue.Request], cache: SessionHeaderCache, isolated: Bool, _ db: Database) throws
        -> [Result<(SessionHeader, [StoredEvent]), any Error>]
    {
        var touched: [String: SessionHeader] = [:]
        var statusBefore: [String: SessionStatus] = [:]
        var results: [Result<(SessionHeader, [StoredEvent]), any Error>] = []
        results.reserveCapacity(batch.count)
        for request in batch {
            let checked: SessionHeader
            do {
                if request.cancellation.isCancelled { throw CancellationError() }
                guard let header = try touched[request.sessionID] ?? cache.header(id: request.sessionID) ?? Self.header(id: request.sessionID, db)
                else { throw APIError.notFound("session", request.sessionID) }
                try request.check(header)
                checked = header
            } catch {
                results.append(.failure(error))
                continue
            }
            var header = checked
            if statusBefore[header.id] == nil { statusBefore[header.id] = header.status }
            if isolated {
                do {
                    var stored: [StoredEvent] = []
                    try db.inSavepoint {
                        stored = try append(request.events, to: &header, savingState: false, db)
                        return .commit
                    }
                    touched[header.id] = header
                    results.append(.success((header, stored)))
                } catch {
                    results.append(.failure(error))
                }
            } else {
                guard let stored = try? append(request.events, to: &header, savingState: false, db) else { throw AppendNeedsIsolation() }
                touched[header.id] = header
                results.append(.success((header, stored)))
            }
        }
        // Each session's state is written once, as the batch left it.
        let headers = Array(touched.values)
        for header in headers { try saveState(of: header, statusChanged: statusBefore[header.id] != header.status, db) }
        db.afterNextTransaction(onCommit: { _ in cache.store(headers) }, onRollback: { _ in cache.remove(headers.map(\.id)) })
        return results
    }

    /// Appends events inside the current transaction: numbers them, folds them into the
    /// session's state, and records the outbox events they cause. Without `savingState` the
    /// caller writes the new state itself (once for several appends) before committing.
    static func append(_ events: [SessionEvent], to header: inout SessionHeader, savingState: Bool = true, _ db: Database) throws
        -> [StoredEvent]
    {
        guard !events.isEmpty else { return [] }
        var stored: [StoredEvent] = []
        stored.reserveCapacity(events.count)
        var outbox: [OutboxEvent] = []
        let statement = try db.cachedStatement(
            sql: "INSERT INTO events (session_id, seq, id, type, processed_at, thread_id, body) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for var event in events {
            // The log is ordered by sequence and by time: an event never predates the one before it.
            if event.processedAt < header.state.updatedAt { event.processedAt = header.state.updatedAt }
            header.state.lastSequence += 1
            header.state.apply(event)
            let json = try event.encoded()
            let record = StoredEvent(
                sessionID: header.id, sequence: header.state.lastSequence, id: event.id, type: event.type, processedAt: event.processedAt,
                threadID: event.threadID, json: json)
            try statement.execute(arguments: [
                header.id, record.sequence, record.id, record.type.rawValue, Timestamp.micros(record.processedAt), record.threadID, json,
            ])
            stored.append(record)
            outbox += OutboxEvent.forSessionEvent(event, sessionID: header.id)
        }
        if savingState { try saveState(of: header, db) }
        try enqueue(outbox, db)
        try foldThreads(events: stored, sessionID: header.id, db)
        return stored
    }

    /// Writes a session's derived state; the indexed `status` column only when it changed.
    static func saveState(of header: SessionHeader, statusChanged: Bool = true, _ db: Database) throws {
        if statusChanged {
            try db.cachedStatement(sql: "UPDATE sessions SET status = ?, state = ? WHERE id = ?")
                .execute(arguments: [header.state.status.rawValue, try encode(header.state), header.id])
        } else {
            try db.cachedStatement(sql: "UPDATE sessions SET state = ? WHERE id = ?").execute(arguments: [try encode(header.state), header.id])
        }
    }

    public func listEvents(sessionID: String, filter: EventFilter, page: PageRequest) async throws -> Page<StoredEvent> {
        try await read { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM sessions WHERE id = ?", arguments: [sessionID]) != nil else {
                throw APIError.notFound("session", sessionID)
            }
            var query = KeysetQuery(sortColumn: "seq", idColumn: "session_id")
            query.filter("session_id = ?", [sessionID])
            if !filter.types.isEmpty {
                let types = filter.types.map(\.rawValue).sorted()
                query.filter("type IN (\(types.map { _ in "?" }.joined(separator: ",")))", types)
            }
            if let threadID = filter.threadID { query.filter("thread_id = ?", [threadID]) }
            if filter.primaryThreadOnly { query.filter("thread_id IS NULL") }
            query.filter(filter.processedAt, column: "processed_at")
            return try query.page(
                db, from: "events", select: "session_id, seq, id, type, processed_at, thread_id, body", page: page,
                decode: Self.storedEvent, position: { ($0["seq"], $0["session_id"]) })
        }
    }

    public func events(sessionID: String, after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        try await read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT session_id, seq, id, type, processed_at, thread_id, body FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                arguments: [sessionID, sequence, limit]
            ).map(Self.storedEvent)
        }
    }

    public func event(sessionID: String, id: String) async throws -> StoredEvent? {
        try await read { db in
            try Row.fetchOne(
                db, sql: "SELECT session_id, seq, id, type, processed_at, thread_id, body FROM events WHERE id = ? AND session_id = ?",
                arguments: [id, sessionID]
            ).map(Self.storedEvent)
        }
    }

    static func storedEvent(_ row: Row) -> StoredEvent {
        StoredEvent(
            sessionID: row["session_id"], sequence: row["seq"], id: row["id"], type: EventType(rawValue: row["type"]),
            processedAt: Timestamp.fromMicros(row["processed_at"]), threadID: row["thread_id"], json: row["body"])
    }
}
