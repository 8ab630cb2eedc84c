import Foundation
import PostgresNIO
import ReverieCore
import ReverieStore

extension PostgresStore {
    // MARK: endpoints

    public func createWebhookEndpoint(_ endpoint: WebhookEndpoint, sealedSecret: String, limit: Int) async throws {
        let body = try Self.encode(endpoint)
        try await write { db in
            // Serializes creations, so the limit holds across processes.
            try await db.execute("SELECT pg_advisory_xact_lock(hashtext('webhook_endpoints'))")
            let count = try await db.scalar(Int.self, "SELECT COUNT(*) FROM webhook_endpoints") ?? 0
            if count >= limit {
                throw APIError.invalidRequest("a server can have at most \(limit) webhook endpoints, enabled or disabled; delete one first")
            }
            try await db.execute(
                "INSERT INTO webhook_endpoints (id, created_at, url, state, consecutive_failures, secret, body) VALUES (?, ?, ?, ?, 0, ?, ?)",
                [endpoint.id, Timestamp.micros(endpoint.createdAt), endpoint.url, endpoint.state.rawValue, sealedSecret, body])
        }
    }

    public func webhookEndpoint(id: String) async throws -> WebhookEndpoint? {
        try await read { db in try await Self.endpoint(id: id, db) }
    }

    public func updateWebhookEndpoint(id: String, _ change: @Sendable (WebhookEndpoint) throws -> WebhookEndpoint) async throws
        -> WebhookEndpoint
    {
        try await write { db in
            guard let current = try await Self.endpoint(id: id, forUpdate: true, db) else { throw APIError.notFound("webhook endpoint", id) }
            let next = try change(current)
            guard next != current else { return current }
            try await Self.save(next, db)
            if current.state == .disabled, next.state == .enabled {
                try await db.execute("UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = ?", [id])
            }
            if current.state == .enabled, next.state == .disabled {
                try await Self.abandonPendingDeliveries(endpointID: id, reason: "the endpoint was disabled", at: next.updatedAt, db)
            }
            return next
        }
    }

    public func replaceWebhookSigningSecret(id: String, sealedSecret: String, at date: Date) async throws -> WebhookEndpoint {
        try await write { db in
            guard var endpoint = try await Self.endpoint(id: id, forUpdate: true, db) else { throw APIError.notFound("webhook endpoint", id) }
            endpoint.updatedAt = date
            try await Self.save(endpoint, db)
            try await db.execute("UPDATE webhook_endpoints SET secret = ? WHERE id = ?", [sealedSecret, id])
            return endpoint
        }
    }

    public func listWebhookEndpoints(page: IDPageRequest) async throws -> IDPage<WebhookEndpoint> {
        try await read { db in
            try await Self.idPage(
                db, table: "webhook_endpoints", select: "id, created_at, body", sortColumn: "created_at", page: page,
                decode: { try Self.decode(WebhookEndpoint.self, $0["body"]) })
        }
    }

    public func deleteWebhookEndpoint(id: String) async throws {
        try await write { db in
            guard try await db.fetchOne("SELECT 1 FROM webhook_endpoints WHERE id = ? FOR UPDATE", [id]) != nil else {
                throw APIError.notFound("webhook endpoint", id)
            }
            try await db.execute("DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ?)", [id])
            try await db.execute("DELETE FROM webhook_deliveries WHERE endpoint_id = ?", [id])
            try await db.execute("DELETE FROM webhook_endpoints WHERE id = ?", [id])
        }
    }

    // MARK: the outbox and the queue

    /// Claims pending outbox events with `FOR UPDATE SKIP LOCKED`, so processes fanning out at
    /// once each take different events and every event is fanned out once.
    public func fanOutOutboxEvents(limit: Int, now: Date) async throws -> Int {
        try await write { db in
            let events = try await db.fetchAll(
                """
                SELECT id, type, resource_id, created_at, attributes FROM outbox WHERE dispatched_at IS NULL
                ORDER BY created_at, id LIMIT ? FOR UPDATE SKIP LOCKED
                """, [limit]
            ).map(Self.outboxEvent)
            guard !events.isEmpty else { return 0 }
            let endpoints = try await db.column(String.self, "SELECT body FROM webhook_endpoints WHERE state = 'enabled'")
                .map { try Self.decode(WebhookEndpoint.self, $0) }
            let nowMicros = Timestamp.micros(now)
            for event in events {
                let attributes = event.attributes.isEmpty ? nil : try Self.encode(event.attributes)
                for endpoint in endpoints where endpoint.subscribes(to: event.type) && event.createdAt >= endpoint.createdAt {
                    try await db.execute(
                        """
                        INSERT INTO webhook_deliveries
                            (id, endpoint_id, event_id, event_type, resource_id, event_created_at, attributes, state, next_attempt_at, created_at, updated_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING
                        """,
                        [
                            ResourceID.make(ResourceID.webhookDelivery, at: now), endpoint.id, event.id, event.type, event.resourceID,
                            Timestamp.micros(event.createdAt), attributes, nowMicros, nowMicros, nowMicros,
                        ])
                }
            }
            try await db.execute("UPDATE outbox SET dispatched_at = ? WHERE id = ANY(?)", [nowMicros, events.map(\.id)])
            return events.count
        }
    }

    /// Yields when any process commits outbox events (LISTEN `reverie_outbox`).
    public func outboxSignals() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        let task = Task { [client, logger] in
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: "reverie_outbox") { notifications in
                            for try await _ in notifications { continuation.yield() }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("outbox listener failed; listening again", metadata: ["error": "\(String(reflecting: error))"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    public func appendOutboxEvents(_ events: [OutboxEvent]) async throws {
        guard !events.isEmpty else { return }
        try await write { db in try await Self.enqueue(events, db) }
    }

    /// Claims due deliveries with `FOR UPDATE SKIP LOCKED` and moves their next attempt to
    /// `leaseUntil`, so each is sent by one process at a time.
    public func claimDueWebhookDeliveries(now: Date, leaseUntil: Date, limit: Int, perEndpoint: Int, busy: [String: Int], disableAfter: Int)
        async throws -> [WebhookDispatch]
    {
        guard limit > 0 else { return [] }
        return try await write { db in
            let endpoints = try await db.fetchAll("SELECT id, url, secret, consecutive_failures FROM webhook_endpoints WHERE state = 'enabled'")
            let nowMicros = Timestamp.micros(now)
            var candidates: [(due: Int64, dispatch: WebhookDispatch)] = []
            for endpoint in endpoints {
                let id: String = try endpoint["id"]
                let failures: Int = try endpoint["consecutive_failures"]
                let room = min(perEndpoint, disableAfter - failures, limit) - busy[id, default: 0]
                guard room > 0 else { continue }
                let rows = try await db.fetchAll(
                    """
                    SELECT * FROM webhook_deliveries WHERE endpoint_id = ? AND state = 'pending' AND next_attempt_at <= ?
                    ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED
                    """, [id, nowMicros, room])
                for row in rows {
                    let dispatch = WebhookDispatch(delivery: try Self.delivery(row), url: try endpoint["url"], sealedSecret: try endpoint["secret"])
                    candidates.append((try row["next_attempt_at"], dispatch))
                }
            }
            candidates.sort { ($0.due, $0.dispatch.delivery.id) < ($1.due, $1.dispatch.delivery.id) }
            let claimed = candidates.prefix(limit).map(\.dispatch)
            if !claimed.isEmpty {
                try await db.execute(
                    "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ANY(?)", [Timestamp.micros(leaseUntil), claimed.map(\.delivery.id)])
            }
            return claimed
        }
    }

    public func recordWebhookAttempt(_ attempt: WebhookAttempt, retryAt: Date?, disableAfter: Int, disabledReason: String) async throws
        -> WebhookAttemptOutcome
    {
        try await write { db in
            guard let row = try await db.fetchOne("SELECT * FROM webhook_deliveries WHERE id = ? FOR UPDATE", [attempt.deliveryID]) else {
                return WebhookAttemptOutcome(delivery: nil, disabledEndpoint: false)
            }
            var delivery = try Self.delivery(row)
            let finishedAt = attempt.startedAt.addingTimeInterval(attempt.latencyMilliseconds / 1000)
            delivery.attempts += 1
            delivery.roundAttempts += 1
            delivery.lastAttemptAt = attempt.startedAt
            delivery.lastStatusCode = attempt.statusCode
            delivery.lastError = attempt.error
            delivery.updatedAt = max(finishedAt, delivery.updatedAt)
            try await db.execute(
                """
                INSERT INTO webhook_attempts
                    (id, delivery_id, endpoint_id, event_id, number, started_at, status_code, latency_micros, error, succeeded, response_excerpt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    attempt.id, delivery.id, delivery.endpointID, delivery.event.id, delivery.attempts, Timestamp.micros(attempt.startedAt),
                    attempt.statusCode, Int64((attempt.latencyMilliseconds * 1000).rounded()), attempt.error, attempt.succeeded,
                    attempt.responseExcerpt,
                ])
            var disabled = false
            if attempt.succeeded {
                delivery.state = .succeeded
                delivery.nextAttemptAt = nil
                try await Self.saveDelivery(delivery, db)
                try await db.execute(
                    "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = ? AND consecutive_failures != 0", [delivery.endpointID])
            } else {
                if delivery.state == .pending {
                    if let retryAt {
                        delivery.nextAttemptAt = retryAt
                    } else {
                        delivery.state = .failed
                        delivery.nextAttemptAt = nil
                    }
                }
                try await Self.saveDelivery(delivery, db)
                let failures = try await db.scalar(
                    Int.self, "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1 WHERE id = ? RETURNING consecutive_failures",
                    [delivery.endpointID]) ?? 0
                if failures >= disableAfter, var endpoint = try await Self.endpoint(id: delivery.endpointID, forUpdate: true, db),
                    endpoint.state == .enabled
                {
                    endpoint.state = .disabled
                    endpoint.disabledReason = disabledReason
                    endpoint.updatedAt = delivery.updatedAt
                    try await Self.save(endpoint, db)
                    try await Self.abandonPendingDeliveries(
                        endpointID: endpoint.id, reason: "the endpoint was disabled automatically", at: delivery.updatedAt, db)
                    disabled = true
                    if let row = try await db.fetchOne("SELECT * FROM webhook_deliveries WHERE id = ?", [delivery.id]) {
                        delivery = try Self.delivery(row)
                    }
                }
            }
            return WebhookAttemptOutcome(delivery: delivery, disabledEndpoint: disabled)
        }
    }

    public func webhookConsecutiveFailures(endpointID: String) async throws -> Int {
        try await read { db in
            try await db.scalar(Int.self, "SELECT consecutive_failures FROM webhook_endpoints WHERE id = ?", [endpointID]) ?? 0
        }
    }

    // MARK: history

    public func webhookDelivery(id: String) async throws -> WebhookDelivery? {
        try await read { db in try await db.fetchOne("SELECT * FROM webhook_deliveries WHERE id = ?", [id]).map(Self.delivery) }
    }

    public func listWebhookDeliveries(endpointID: String, state: WebhookDelivery.State?, page: IDPageRequest) async throws
        -> IDPage<WebhookDelivery>
    {
        try await read { db in
            var conditions = ["endpoint_id = ?"]
            var arguments: [any SQLValueConvertible] = [endpointID]
            if let state {
                conditions.append("state = ?")
                arguments.append(state.rawValue)
            }
            return try await Self.idPage(
                db, table: "webhook_deliveries", select: "*", sortColumn: "created_at", conditions: conditions, arguments: arguments,
                page: page, decode: Self.delivery)
        }
    }

    public func listWebhookAttempts(deliveryID: String, page: IDPageRequest) async throws -> IDPage<WebhookAttempt> {
        try await read { db in
            try await Self.idPage(
                db, table: "webhook_attempts", select: "*", sortColumn: "started_at", conditions: ["delivery_id = ?"], arguments: [deliveryID],
                page: page, decode: Self.attempt)
        }
    }

    public func requeueWebhookDelivery(id: String, now: Date) async throws -> WebhookDelivery {
        try await write { db in
            guard let row = try await db.fetchOne("SELECT * FROM webhook_deliveries WHERE id = ? FOR UPDATE", [id]) else {
                throw APIError.notFound("webhook delivery", id)
            }
            var delivery = try Self.delivery(row)
            if delivery.state == .pending { throw APIError.conflict("webhook delivery '\(id)' is already queued") }
            guard let endpoint = try await Self.endpoint(id: delivery.endpointID, db), endpoint.state == .enabled else {
                throw APIError.invalidRequest("webhook endpoint '\(delivery.endpointID)' is disabled; enable it before re-sending a delivery")
            }
            delivery.state = .pending
            delivery.roundAttempts = 0
            delivery.nextAttemptAt = now
            delivery.updatedAt = now
            try await Self.saveDelivery(delivery, db)
            return delivery
        }
    }

    public func pruneWebhookHistory(before date: Date) async throws {
        let cutoff = Timestamp.micros(date)
        try await write { db in
            try await db.execute("DELETE FROM outbox WHERE dispatched_at IS NOT NULL AND dispatched_at < ?", [cutoff])
            try await db.execute(
                "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE state != 'pending' AND updated_at < ?)",
                [cutoff])
            try await db.execute("DELETE FROM webhook_deliveries WHERE state != 'pending' AND updated_at < ?", [cutoff])
        }
    }

    // MARK: rows

    static func endpoint(id: String, forUpdate: Bool = false, _ db: SQLConnection) async throws -> WebhookEndpoint? {
        try await db.scalar(String.self, "SELECT body FROM webhook_endpoints WHERE id = ?" + (forUpdate ? " FOR UPDATE" : ""), [id])
            .map { try decode(WebhookEndpoint.self, $0) }
    }

    static func save(_ endpoint: WebhookEndpoint, _ db: SQLConnection) async throws {
        try await db.execute(
            "UPDATE webhook_endpoints SET url = ?, state = ?, body = ? WHERE id = ?",
            [endpoint.url, endpoint.state.rawValue, try encode(endpoint), endpoint.id])
    }

    static func abandonPendingDeliveries(endpointID: String, reason: String, at date: Date, _ db: SQLConnection) async throws {
        try await db.execute(
            """
            UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, last_error = ?, updated_at = ?
            WHERE endpoint_id = ? AND state = 'pending'
            """, [reason, Timestamp.micros(date), endpointID])
    }

    static func delivery(_ row: SQLRow) throws -> WebhookDelivery {
        let attributes: [String: String] =
            if let text = try row["attributes"] as String? { try decode([String: String].self, text) } else { [:] }
        let event = OutboxEvent(
            id: try row["event_id"], type: try row["event_type"], resourceID: try row["resource_id"],
            createdAt: Timestamp.fromMicros(try row["event_created_at"]), attributes: attributes)
        return WebhookDelivery(
            id: try row["id"], endpointID: try row["endpoint_id"], event: event,
            state: WebhookDelivery.State(rawValue: try row["state"]) ?? .failed, attempts: try row["attempts"],
            roundAttempts: try row["round_attempts"], nextAttemptAt: (try row["next_attempt_at"] as Int64?).map(Timestamp.fromMicros),
            lastAttemptAt: (try row["last_attempt_at"] as Int64?).map(Timestamp.fromMicros), lastStatusCode: try row["last_status"],
            lastError: try row["last_error"], createdAt: Timestamp.fromMicros(try row["created_at"]),
            updatedAt: Timestamp.fromMicros(try row["updated_at"]))
    }

    static func saveDelivery(_ delivery: WebhookDelivery, _ db: SQLConnection) async throws {
        try await db.execute(
            """
            UPDATE webhook_deliveries SET state = ?, attempts = ?, round_attempts = ?, next_attempt_at = ?, last_attempt_at = ?,
                last_status = ?, last_error = ?, updated_at = ?
            WHERE id = ?
            """,
            [
                delivery.state.rawValue, delivery.attempts, delivery.roundAttempts, delivery.nextAttemptAt.map(Timestamp.micros),
                delivery.lastAttemptAt.map(Timestamp.micros), delivery.lastStatusCode, delivery.lastError, Timestamp.micros(delivery.updatedAt),
                delivery.id,
            ])
    }

    static func attempt(_ row: SQLRow) throws -> WebhookAttempt {
        WebhookAttempt(
            id: try row["id"], deliveryID: try row["delivery_id"], endpointID: try row["endpoint_id"], eventID: try row["event_id"],
            number: try row["number"], startedAt: Timestamp.fromMicros(try row["started_at"]), statusCode: try row["status_code"],
            latencyMilliseconds: Double(try row["latency_micros"] as Int64) / 1000, error: try row["error"], succeeded: try row["succeeded"],
            responseExcerpt: try row["response_excerpt"])
    }
}
