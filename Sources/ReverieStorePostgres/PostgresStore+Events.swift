import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    public func appendEvents(_ events: [SessionEvent], to sessionID: String, check: @escaping @Sendable (SessionHeader) throws -> Void)
        async throws -> (SessionHeader, [StoredEvent])
    {
        try await appendQueue.append(events, to: sessionID, check: check) { await self.drainAppends() }
    }

    /// What group commit did so far.
    public var groupCommitCounts: GroupCommitCounts { appendQueue.counts }

    private func drainAppends() async {
        while let batch = appendQueue.nextBatch() {
            await commit(batch)
        }
    }

    /// Commits a batch of appends in one transaction. A refused append writes nothing and fails
    /// alone; if writing fails, each append runs again in a transaction of its own.
    private func commit(_ batch: [EventAppendQueue.Request]) async {
        let origin = processID
        do {
            let results = try await write { db in try await Self.apply(batch, isolated: false, origin: origin, db) }
            for (request, result) in zip(batch, results) { request.continuation.resume(with: result) }
        } catch is AppendNeedsIsolation {
            appendQueue.noteIsolatedRetry()
            for request in batch {
                do {
                    let results = try await write { db in try await Self.apply([request], isolated: true, origin: origin, db) }
                    request.continuation.resume(with: results[0])
                } catch {
                    request.continuation.resume(throwing: error)
                }
            }
        } catch {
            for request in batch { request.continuation.resume(throwing: error) }
        }
    }

    private struct AppendNeedsIsolation: Error {}

    private static func apply(_ batch: [EventAppendQueue.Request], isolated: Bool, origin: String, _ db: SQLConnection) async throws
        -> [Result<(SessionHeader, [StoredEvent]), any Error>]
    {
        // Lock every session of the batch, in id order (so two processes never deadlock).
        let ids = Array(Set(batch.map(\.sessionID))).sorted()
        var headers: [String: SessionHeader] = [:]
        for row in try await db.fetchAll(
            "SELECT id, environment_id, archived_at, state FROM sessions WHERE id = ANY(?) ORDER BY id FOR UPDATE", [ids])
        {
            let id: String = try row["id"]
            headers[id] = SessionHeader(
                id: id, environmentID: try row["environment_id"], archivedAt: (try row["archived_at"] as Int64?).map(Timestamp.fromMicros),
                state: try decode(SessionState.self, row["state"]))
        }
        var appended: [String: [StoredEvent]] = [:]
        var allStored: [StoredEvent] = []
        var outbox: [OutboxEvent] = []
        var results: [Result<(SessionHeader, [StoredEvent]), any Error>] = []
        for request in batch {
            do {
                if request.cancellation.isCancelled { throw CancellationError() }
                guard var header = headers[request.sessionID] else { throw APIError.notFound("session", request.sessionID) }
                try request.check(header)
                let (stored, caused) = try number(request.events, header: &header)
                headers[header.id] = header
                appended[header.id, default: []] += stored
                allStored += stored
                outbox += caused
                results.append(.success((header, stored)))
            } catch {
                results.append(.failure(error))
            }
        }
        // Each session's state is written once, as the batch left it. The events, the states and
        // the announcements (one per session) go in one statement: a round trip per batch.
        var touched: [String] = []
        var states: [String] = []
        var statuses: [String] = []
        var payloads: [String] = []
        for (sessionID, stored) in appended.sorted(by: { $0.key < $1.key }) {
            guard let header = headers[sessionID], let first = stored.first, let last = stored.last else { continue }
            try await foldThreads(events: stored, sessionID: sessionID, db)
            touched.append(sessionID)
            states.append(try encode(header.state))
            statuses.append(header.state.status.rawValue)
            payloads.append(
                EventAnnouncement(sessionID: sessionID, firstSequence: first.sequence, lastSequence: last.sequence, origin: origin).payload)
        }
        guard !allStored.isEmpty else { return results }
        do {
            try await db.execute(
                """
                WITH inserted AS (
                    INSERT INTO events (session_id, seq, id, type, processed_at, thread_id, body)
                    SELECT s, q, i, t, p, NULLIF(h, ''), b
                    FROM UNNEST(?::text[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[]) AS x(s, q, i, t, p, h, b)
                ), updated AS (
                    UPDATE sessions SET status = y.status, state = y.state
                    FROM UNNEST(?::text[], ?::text[], ?::text[]) AS y(id, status, state) WHERE sessions.id = y.id
                )
                SELECT pg_notify('reverie_events', a) FROM UNNEST(?::text[]) AS a
                """,
                [
                    allStored.map(\.sessionID), SQLValue.intArray(allStored.map(\.sequence)), allStored.map(\.id), allStored.map(\.type.rawValue),
                    SQLValue.intArray(allStored.map { Timestamp.micros($0.processedAt) }), allStored.map { $0.threadID ?? "" },
                    allStored.map(\.json), touched, statuses, states, payloads,
                ])
        } catch {
            if isolated { throw error }
            throw AppendNeedsIsolation()
        }
        try await enqueue(outbox, db)
        return results
    }

    /// Numbers events after the header's last sequence and folds them into its state; returns
    /// the stored records and the outbox events they cause.
    static func number(_ events: [SessionEvent], header: inout SessionHeader) throws -> ([StoredEvent], [OutboxEvent]) {
        var stored: [StoredEvent] = []
        stored.reserveCapacity(events.count)
        var outbox: [OutboxEvent] = []
        for var event in events {
            if event.processedAt < header.state.updatedAt { event.processedAt = header.state.updatedAt }
            header.state.lastSequence += 1
            header.state.apply(event)
            let json = try event.encoded()
            stored.append(
                StoredEvent(
                    sessionID: header.id, sequence: header.state.lastSequence, id: event.id, type: event.type, processedAt: event.processedAt,
                    threadID: event.threadID, json: json))
            outbox += OutboxEvent.forSessionEvent(event, sessionID: header.id)
        }
        return (stored, outbox)
    }

    /// Inserts stored events, all in one statement.
    static func insert(_ stored: [StoredEvent], _ db: SQLConnection) async throws {
        guard !stored.isEmpty else { return }
        try await db.execute(
            """
            INSERT INTO events (session_id, seq, id, type, processed_at, thread_id, body)
            SELECT s, q, i, t, p, NULLIF(h, ''), b FROM UNNEST(?::text[], ?::bigint[], ?::text[], ?::text[], ?::bigint[], ?::text[], ?::text[])
                AS x(s, q, i, t, p, h, b)
            """,
            [
                stored.map(\.sessionID), SQLValue.intArray(stored.map(\.sequence)), stored.map(\.id), stored.map(\.type.rawValue),
                SQLValue.intArray(stored.map { Timestamp.micros($0.processedAt) }), stored.map { $0.threadID ?? "" }, stored.map(\.json),
            ])
    }

    /// Appends events inside the current transaction (the caller holds the session's row).
    static func append(_ events: [SessionEvent], to header: inout SessionHeader, _ db: SQLConnection) async throws -> [StoredEvent] {
        guard !events.isEmpty else { return [] }
        let (stored, outbox) = try number(events, header: &header)
        try await insert(stored, db)
        try await enqueue(outbox, db)
        try await foldThreads(events: stored, sessionID: header.id, db)
        return stored
    }

    /// Tells every process (NOTIFY `reverie_events`) that these events of one session committed.
    static func announce(_ stored: [StoredEvent], origin: String, _ db: SQLConnection) async throws {
        guard let first = stored.first, let last = stored.last else { return }
        try await db.execute(
            "SELECT pg_notify('reverie_events', ?)",
            [EventAnnouncement(sessionID: first.sessionID, firstSequence: first.sequence, lastSequence: last.sequence, origin: origin).payload])
    }

    static func saveState(of header: SessionHeader, statusChanged: Bool = true, _ db: SQLConnection) async throws {
        if statusChanged {
            try await db.execute(
                "UPDATE sessions SET status = ?, state = ? WHERE id = ?", [header.state.status.rawValue, try encode(header.state), header.id])
        } else {
            try await db.execute("UPDATE sessions SET state = ? WHERE id = ?", [try encode(header.state), header.id])
        }
    }

    public func listEvents(sessionID: String, filter: EventFilter, page: PageRequest) async throws -> Page<StoredEvent> {
        try await read { db in
            guard try await db.fetchOne("SELECT 1 FROM sessions WHERE id = ?", [sessionID]) != nil else {
                throw APIError.notFound("session", sessionID)
            }
            var query = PostgresKeysetQuery(sortColumn: "seq", idColumn: "session_id")
            query.filter("session_id = ?", [sessionID])
            if !filter.types.isEmpty { query.filter("type = ANY(?)", [filter.types.map(\.rawValue).sorted()]) }
            if let threadID = filter.threadID { query.filter("thread_id = ?", [threadID]) }
            if filter.primaryThreadOnly { query.filter("thread_id IS NULL") }
            query.filter(filter.processedAt, column: "processed_at")
            return try await query.page(
                db, from: "events", select: "session_id, seq, id, type, processed_at, thread_id, body", page: page,
                decode: Self.storedEvent, position: { (try $0["seq"], try $0["session_id"]) })
        }
    }

    public func events(sessionID: String, after sequence: Int64, limit: Int) async throws -> [StoredEvent] {
        try await read { db in
            try await db.fetchAll(
                "SELECT session_id, seq, id, type, processed_at, thread_id, body FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                [sessionID, sequence, limit]
            ).map(Self.storedEvent)
        }
    }

    public func event(sessionID: String, id: String) async throws -> StoredEvent? {
        try await read { db in
            try await db.fetchOne(
                "SELECT session_id, seq, id, type, processed_at, thread_id, body FROM events WHERE id = ? AND session_id = ?", [id, sessionID]
            ).map(Self.storedEvent)
        }
    }

    static func storedEvent(_ row: SQLRow) throws -> StoredEvent {
        StoredEvent(
            sessionID: try row["session_id"], sequence: try row["seq"], id: try row["id"], type: EventType(rawValue: try row["type"]),
            processedAt: Timestamp.fromMicros(try row["processed_at"]), threadID: try row["thread_id"], json: try row["body"])
    }
}

