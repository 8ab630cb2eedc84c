import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    /// The `v3-webhooks` migration: endpoints, the delivery queue, the attempt log, and the
    /// outbox's `attributes` (extra members of a payload's `data`).
    static func migrateWebhooks(_ db: Database) throws {
        try db.execute(sql: """
            ALTER TABLE outbox ADD COLUMN attributes TEXT;

            CREATE TABLE webhook_endpoints (
                id TEXT PRIMARY KEY NOT NULL,
                created_at INTEGER NOT NULL,
                url TEXT NOT NULL,
                state TEXT NOT NULL,
                consecutive_failures INTEGER NOT NULL DEFAULT 0,
                secret TEXT NOT NULL,
                body TEXT NOT NULL
            );
            CREATE INDEX webhook_endpoints_by_created ON webhook_endpoints(created_at, id);

            CREATE TABLE webhook_deliveries (
                id TEXT PRIMARY KEY NOT NULL,
                endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                resource_id TEXT NOT NULL,
                event_created_at INTEGER NOT NULL,
                attributes TEXT,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                round_attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at INTEGER,
                last_attempt_at INTEGER,
                last_status INTEGER,
                last_error TEXT NOT NULL DEFAULT '',
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                UNIQUE (endpoint_id, event_id)
            );
            CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
            CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries(endpoint_id, created_at, id);

            CREATE TABLE webhook_attempts (
                id TEXT PRIMARY KEY NOT NULL,
                delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
                endpoint_id TEXT NOT NULL,
                event_id TEXT NOT NULL,
                number INTEGER NOT NULL,
                started_at INTEGER NOT NULL,
                status_code INTEGER,
                latency_micros INTEGER NOT NULL,
                error TEXT NOT NULL,
                succeeded INTEGER NOT NULL,
                response_excerpt TEXT NOT NULL
            );
            CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts(delivery_id, started_at, id);
            """)
    }

    /// The `v6-webhook-claims` migration: due deliveries are looked up per endpoint.
    static func migrateWebhookClaims(_ db: Database) throws {
        try db.execute(sql: """
            DROP INDEX webhook_deliveries_due;
            CREATE INDEX webhook_deliveries_due_by_endpoint ON webhook_deliveries(endpoint_id, state, next_attempt_at, id);
            """)
    }

    // MARK: endpoints

    public func createWebhookEndpoint(_ endpoint: WebhookEndpoint, sealedSecret: String, limit: Int) async throws {
        let body = try Self.encode(endpoint)
        try await write { db in
            let count = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM webhook_endpoints") ?? 0
            if count >= limit {
                throw APIError.invalidRequest("a server can have at most \(limit) webhook endpoints, enabled or disabled; delete one first")
            }
            try db.execute(
                sql: "INSERT INTO webhook_endpoints (id, created_at, url, state, consecutive_failures, secret, body) VALUES (?, ?, ?, ?, 0, ?, ?)",
                arguments: [endpoint.id, Timestamp.micros(endpoint.createdAt), endpoint.url, endpoint.state.rawValue, sealedSecret, body])
        }
    }

    public func webhookEndpoint(id: String) async throws -> WebhookEndpoint? {
        try await read { db in try Self.endpoint(id: id, db) }
    }

    public func updateWebhookEndpoint(id: String, _ change: @Sendable (WebhookEndpoint) throws -> WebhookEndpoint) async throws
        -> WebhookEndpoint
    {
        try await write { db in
            guard let current = try Self.endpoint(id: id, db) else { throw APIError.notFound("webhook endpoint", id) }
            let next = try change(current)
            guard next != current else { return current }
            try Self.save(next, db)
            if current.state == .disabled, next.state == .enabled {
                try db.execute(sql: "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = ?", arguments: [id])
            }
            if current.state == .enabled, next.state == .disabled {
                try Self.abandonPendingDeliveries(endpointID: id, reason: "the endpoint was disabled", at: next.updatedAt, db)
            }
            return next
        }
    }

    public func replaceWebhookSigningSecret(id: String, sealedSecret: String, at date: Date) async throws -> WebhookEndpoint {
        try await write { db in
            guard var endpoint = try Self.endpoint(id: id, db) else { throw APIError.notFound("webhook endpoint", id) }
            endpoint.updatedAt = date
            try Self.save(endpoint, db)
            try db.execute(sql: "UPDATE webhook_endpoints SET secret = ? WHERE id = ?", arguments: [sealedSecret, id])
            return endpoint
        }
    }

    public func listWebhookEndpoints(page: IDPageRequest) async throws -> IDPage<WebhookEndpoint> {
        try await read { db in
            try Self.idPage(
                db, table: "webhook_endpoints", select: "id, created_at, body", sortColumn: "created_at", page: page,
                decode: { try Self.decode(WebhookEndpoint.self, $0["body"]) })
        }
    }

    public func deleteWebhookEndpoint(id: String) async throws {
        try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM webhook_endpoints WHERE id = ?", arguments: [id]) != nil else {
                throw APIError.notFound("webhook endpoint", id)
            }
            try db.execute(
                sql: "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ?)",
                arguments: [id])
            try db.execute(sql: "DELETE FROM webhook_deliveries WHERE endpoint_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM webhook_endpoints WHERE id = ?", arguments: [id])
        }
    }

    // MARK: the outbox and the queue

    public func fanOutOutboxEvents(limit: Int, now: Date) async throws -> Int {
        try await write { db in
            let events = try Row.fetchAll(
                db, sql: "SELECT id, type, resource_id, created_at, attributes FROM outbox WHERE dispatched_at IS NULL ORDER BY created_at, id LIMIT ?",
                arguments: [limit]
            ).map(Self.outboxEvent)
            guard !events.isEmpty else { return 0 }
            let endpoints = try String.fetchAll(db, sql: "SELECT body FROM webhook_endpoints WHERE state = 'enabled'")
                .map { try Self.decode(WebhookEndpoint.self, $0) }
            let nowMicros = Timestamp.micros(now)
            let insert = try db.cachedStatement(sql: """
                INSERT OR IGNORE INTO webhook_deliveries
                    (id, endpoint_id, event_id, event_type, resource_id, event_created_at, attributes, state, next_attempt_at, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
                """)
            let mark = try db.cachedStatement(sql: "UPDATE outbox SET dispatched_at = ? WHERE id = ?")
            for event in events {
                let attributes = event.attributes.isEmpty ? nil : try Self.encode(event.attributes)
                for endpoint in endpoints where endpoint.subscribes(to: event.type) && event.createdAt >= endpoint.createdAt {
                    try insert.execute(arguments: [
                        ResourceID.make(ResourceID.webhookDelivery, at: now), endpoint.id, event.id, event.type, event.resourceID,
                        Timestamp.micros(event.createdAt), attributes, nowMicros, nowMicros, nowMicros,
                    ])
                }
                try mark.execute(arguments: [nowMicros, event.id])
            }
            return events.count
        }
    }

    public func outboxSignals() -> AsyncStream<Void> {
        let (stream, continuation) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        // Tracking only the `id` column: inserts notify, the dispatcher's own updates of
        // `dispatched_at` do not.
        let observation = DatabaseRegionObservation(tracking: SQLRequest<Row>(sql: "SELECT id FROM outbox"))
        let cancellable = observation.start(
            in: pool,
            onError: { [logger] error in
                logger.warning("outbox observation failed: \(error)")
                continuation.finish()
            },
            onChange: { _ in continuation.yield() })
        continuation.onTermination = { _ in cancellable.cancel() }
        return stream
    }

    public func appendOutboxEvents(_ events: [OutboxEvent]) async throws {
        guard !events.isEmpty else { return }
        try await write { db in try Self.enqueue(events, db) }
    }

    public func claimDueWebhookDeliveries(now: Date, leaseUntil: Date, limit: Int, perEndpoint: Int, busy: [String: Int], disableAfter: Int)
        async throws -> [WebhookDispatch]
    {
        guard limit > 0 else { return [] }
        return try await write { db in
            // Each endpoint is asked for its own due deliveries, up to its own room, so one
            // endpoint's backlog never holds back another's.
            let endpoints = try Row.fetchAll(
                db, sql: "SELECT id, url, secret, consecutive_failures FROM webhook_endpoints WHERE state = 'enabled'")
            let due = try db.cachedStatement(sql: """
                SELECT * FROM webhook_deliveries
                WHERE endpoint_id = ? AND state = 'pending' AND next_attempt_at <= ?
                ORDER BY next_attempt_at, id LIMIT ?
                """)
            let nowMicros = Timestamp.micros(now)
            var candidates: [(due: Int64, dispatch: WebhookDispatch)] = []
            for endpoint in endpoints {
                let id: String = endpoint["id"]
                let failures: Int = endpoint["consecutive_failures"]
                let room = min(perEndpoint, disableAfter - failures, limit) - busy[id, default: 0]
                guard room > 0 else { continue }
                for row in try Row.fetchAll(due, arguments: [id, nowMicros, room]) {
                    let dispatch = WebhookDispatch(delivery: try Self.delivery(row), url: endpoint["url"], sealedSecret: endpoint["secret"])
                    candidates.append((row["next_attempt_at"], dispatch))
                }
            }
            candidates.sort { ($0.due, $0.dispatch.delivery.id) < ($1.due, $1.dispatch.delivery.id) }
            let claimed = candidates.prefix(limit).map(\.dispatch)
            let lease = try db.cachedStatement(sql: "UPDATE webhook_deliveries SET next_attempt_at = ? WHERE id = ?")
            for dispatch in claimed { try lease.execute(arguments: [Timestamp.micros(leaseUntil), dispatch.delivery.id]) }
            return claimed
        }
    }

    public func recordWebhookAttempt(_ attempt: WebhookAttempt, retryAt: Date?, disableAfter: Int, disabledReason: String) async throws
        -> WebhookAttemptOutcome
    {
        try await write { db in
            let select = try db.cachedStatement(sql: "SELECT * FROM webhook_deliveries WHERE id = ?")
            guard let row = try Row.fetchOne(select, arguments: [attempt.deliveryID]) else {
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
            try db.cachedStatement(sql: """
                INSERT INTO webhook_attempts
                    (id, delivery_id, endpoint_id, event_id, number, started_at, status_code, latency_micros, error, succeeded, response_excerpt)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
            ).execute(
                arguments: [
                    attempt.id, delivery.id, delivery.endpointID, delivery.event.id, delivery.attempts, Timestamp.micros(attempt.startedAt),
                    attempt.statusCode, Int64((attempt.latencyMilliseconds * 1000).rounded()), attempt.error, attempt.succeeded,
                    attempt.responseExcerpt,
                ])
            var disabled = false
            if attempt.succeeded {
                delivery.state = .succeeded
                delivery.nextAttemptAt = nil
                try Self.saveDelivery(delivery, db)
                try db.cachedStatement(sql: "UPDATE webhook_endpoints SET consecutive_failures = 0 WHERE id = ? AND consecutive_failures != 0")
                    .execute(arguments: [delivery.endpointID])
            } else {
                if delivery.state == .pending {
                    if let retryAt {
                        delivery.nextAttemptAt = retryAt
                    } else {
                        delivery.state = .failed
                        delivery.nextAttemptAt = nil
                    }
                }
                try Self.saveDelivery(delivery, db)
                try db.execute(
                    sql: "UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1 WHERE id = ?",
                    arguments: [delivery.endpointID])
                let failures = try Int.fetchOne(
                    db, sql: "SELECT consecutive_failures FROM webhook_endpoints WHERE id = ?", arguments: [delivery.endpointID]) ?? 0
                if failures >= disableAfter, var endpoint = try Self.endpoint(id: delivery.endpointID, db), endpoint.state == .enabled {
                    endpoint.state = .disabled
                    endpoint.disabledReason = disabledReason
                    endpoint.updatedAt = delivery.updatedAt
                    try Self.save(endpoint, db)
                    try Self.abandonPendingDeliveries(
                        endpointID: endpoint.id, reason: "the endpoint was disabled automatically", at: delivery.updatedAt, db)
                    disabled = true
                    if let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_deliveries WHERE id = ?", arguments: [delivery.id]) {
                        delivery = try Self.delivery(row)
                    }
                }
            }
            return WebhookAttemptOutcome(delivery: delivery, disabledEndpoint: disabled)
        }
    }

    public func webhookConsecutiveFailures(endpointID: String) async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT consecutive_failures FROM webhook_endpoints WHERE id = ?", arguments: [endpointID]) ?? 0
        }
    }

    // MARK: history

    public func webhookDelivery(id: String) async throws -> WebhookDelivery? {
        try await read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM webhook_deliveries WHERE id = ?", arguments: [id]).map(Self.delivery)
        }
    }

    public func listWebhookDeliveries(endpointID: String, state: WebhookDelivery.State?, page: IDPageRequest) async throws
        -> IDPage<WebhookDelivery>
    {
        try await read { db in
            var conditions = ["endpoint_id = ?"]
            var arguments: StatementArguments = [endpointID]
            if let state {
                conditions.append("state = ?")
                arguments += [state.rawValue]
            }
            return try Self.idPage(
                db, table: "webhook_deliveries", select: "*", sortColumn: "created_at", conditions: conditions, arguments: arguments,
                page: page, decode: Self.delivery)
        }
    }

    public func listWebhookAttempts(deliveryID: String, page: IDPageRequest) async throws -> IDPage<WebhookAttempt> {
        try await read { db in
            try Self.idPage(
                db, table: "webhook_attempts", select: "*", sortColumn: "started_at", conditions: ["delivery_id = ?"], arguments: [deliveryID],
                page: page, decode: Self.attempt)
        }
    }

    public func requeueWebhookDelivery(id: String, now: Date) async throws -> WebhookDelivery {
        try await write { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM webhook_deliveries WHERE id = ?", arguments: [id]) else {
                throw APIError.notFound("webhook delivery", id)
            }
            var delivery = try Self.delivery(row)
            if delivery.state == .pending { throw APIError.conflict("webhook delivery '\(id)' is already queued") }
            guard let endpoint = try Self.endpoint(id: delivery.endpointID, db), endpoint.state == .enabled else {
                throw APIError.invalidRequest("webhook endpoint '\(delivery.endpointID)' is disabled; enable it before re-sending a delivery")
            }
            delivery.state = .pending
            delivery.roundAttempts = 0
            delivery.nextAttemptAt = now
            delivery.updatedAt = now
            try Self.saveDelivery(delivery, db)
            return delivery
        }
    }

    public func pruneWebhookHistory(before date: Date) async throws {
        let cutoff = Timestamp.micros(date)
        try await write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE dispatched_at IS NOT NULL AND dispatched_at < ?", arguments: [cutoff])
            try db.execute(
                sql: "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE state != 'pending' AND updated_at < ?)",
                arguments: [cutoff])
            try db.execute(sql: "DELETE FROM webhook_deliveries WHERE state != 'pending' AND updated_at < ?", arguments: [cutoff])
        }
    }

    // MARK: rows

    static func endpoint(id: String, _ db: Database) throws -> WebhookEndpoint? {
        try String.fetchOne(db, sql: "SELECT body FROM webhook_endpoints WHERE id = ?", arguments: [id])
            .map { try decode(WebhookEndpoint.self, $0) }
    }

    static func save(_ endpoint: WebhookEndpoint, _ db: Database) throws {
        try db.execute(
            sql: "UPDATE webhook_endpoints SET url = ?, state = ?, body = ? WHERE id = ?",
            arguments: [endpoint.url, endpoint.state.rawValue, try encode(endpoint), endpoint.id])
    }

    static func abandonPendingDeliveries(endpointID: String, reason: String, at date: Date, _ db: Database) throws {
        try db.execute(
            sql: """
                UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = NULL, last_error = ?, updated_at = ?
                WHERE endpoint_id = ? AND state = 'pending'
                """,
            arguments: [reason, Timestamp.micros(date), endpointID])
    }

    static func delivery(_ row: Row) throws -> WebhookDelivery {
        let attributes: [String: String] =
            if let text = row["attributes"] as String? { try decode([String: String].self, text) } else { [:] }
        let event = OutboxEvent(
            id: row["event_id"], type: row["event_type"], resourceID: row["resource_id"],
            createdAt: Timestamp.fromMicros(row["event_created_at"]), attributes: attributes)
        return WebhookDelivery(
            id: row["id"], endpointID: row["endpoint_id"], event: event,
            state: WebhookDelivery.State(rawValue: row["state"]) ?? .failed, attempts: row["attempts"], roundAttempts: row["round_attempts"],
            nextAttemptAt: (row["next_attempt_at"] as Int64?).map(Timestamp.fromMicros),
            lastAttemptAt: (row["last_attempt_at"] as Int64?).map(Timestamp.fromMicros), lastStatusCode: row["last_status"],
            lastError: row["last_error"], createdAt: Timestamp.fromMicros(row["created_at"]), updatedAt: Timestamp.fromMicros(row["updated_at"]))
    }

    static func saveDelivery(_ delivery: WebhookDelivery, _ db: Database) throws {
        try db.cachedStatement(sql: """
            UPDATE webhook_deliveries SET state = ?, attempts = ?, round_attempts = ?, next_attempt_at = ?, last_attempt_at = ?,
                last_status = ?, last_error = ?, updated_at = ?
            WHERE id = ?
            """
        ).execute(
            arguments: [
                delivery.state.rawValue, delivery.attempts, delivery.roundAttempts, delivery.nextAttemptAt.map(Timestamp.micros),
                delivery.lastAttemptAt.map(Timestamp.micros), delivery.lastStatusCode, delivery.lastError, Timestamp.micros(delivery.updatedAt),
                delivery.id,
            ])
    }

    static func attempt(_ row: Row) -> WebhookAttempt {
        WebhookAttempt(
            id: row["id"], deliveryID: row["delivery_id"], endpointID: row["endpoint_id"], eventID: row["event_id"], number: row["number"],
            startedAt: Timestamp.fromMicros(row["started_at"]), statusCode: row["status_code"],
            latencyMilliseconds: Double(row["latency_micros"] as Int64) / 1000, error: row["error"], succeeded: row["succeeded"],
            responseExcerpt: row["response_excerpt"])
    }

    /// One page in the `after_id`/`before_id` style over `(sortColumn, id)`, within `conditions`.
    static func idPage<T>(
        _ db: Database, table: String, select: String, sortColumn: String, conditions: [String] = [],
        arguments: StatementArguments = [], page: IDPageRequest, decode: (Row) throws -> T
    ) throws -> IDPage<T> {
        if page.afterID != nil, page.beforeID != nil {
            throw APIError.invalidRequest("after_id, before_id: send one or the other, not both")
        }
        var conditions = conditions
        var values = arguments
        let descending = page.order == .descending
        for (name, id, forward) in [("after_id", page.afterID, true), ("before_id", page.beforeID, false)] {
            guard let id else { continue }
            let scope = conditions.isEmpty ? "" : " AND " + conditions.joined(separator: " AND ")
            var lookup: StatementArguments = [id]
            lookup += values
            guard let position = try Int64.fetchOne(db, sql: "SELECT \(sortColumn) FROM \(table) WHERE id = ?\(scope)", arguments: lookup) else {
                throw APIError.invalidRequest("\(name): '\(id)' is not an item of this list")
            }
            // After the cursor in list order is "smaller" when descending.
            let comparison = (forward == descending) ? "<" : ">"
            conditions.append("(\(sortColumn) \(comparison) ? OR (\(sortColumn) = ? AND id \(comparison) ?))")
            values += [position, position, id]
        }
        let direction = descending ? "DESC" : "ASC"
        var sql = "SELECT \(select) FROM \(table)"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY \(sortColumn) \(direction), id \(direction) LIMIT ?"
        values += [page.limit + 1]
        var rows = try Row.fetchAll(db, sql: sql, arguments: values)
        let hasMore = rows.count > page.limit
        if hasMore { rows.removeLast() }
        return IDPage(items: try rows.map(decode), hasMore: hasMore)
    }
}
