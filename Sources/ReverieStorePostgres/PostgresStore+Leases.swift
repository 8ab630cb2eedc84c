import Foundation
import PostgresNIO
import ReverieCore
import ReverieStore

/// Leases and heartbeats on the database's clock, so processes' clocks need not agree.
extension PostgresStore: SharedStore {
    /// The database's clock in microseconds.
    private static let nowMicros = "(extract(epoch from clock_timestamp()) * 1000000)::bigint"

    private var ttlMicros: Int64 {
        let (seconds, attoseconds) = leaseTTL.components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }

    public func heartbeat() async throws {
        let ttl = ttlMicros
        try await write { db in
            try await db.execute(
                """
                INSERT INTO reverie_processes (id, started_at, heartbeat_at) VALUES (?, \(Self.nowMicros), \(Self.nowMicros))
                ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at
                """, [processID])
            // Processes silent for a long time are forgotten (their leases are free already).
            try await db.execute("DELETE FROM reverie_processes WHERE heartbeat_at < \(Self.nowMicros) - ?", [ttl * 100])
        }
    }

    public func acquireLeases(_ keys: [String]) async throws -> Set<String> {
        guard !keys.isEmpty else { return [] }
        let ttl = ttlMicros
        return try await write { db in
            Set(
                try await db.column(
                    String.self,
                    """
                    INSERT INTO leases (key, owner, acquired_at) SELECT k, ?, \(Self.nowMicros) FROM UNNEST(?::text[]) AS k
                    ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, acquired_at = excluded.acquired_at
                    WHERE leases.owner = excluded.owner OR NOT EXISTS (
                        SELECT 1 FROM reverie_processes p WHERE p.id = leases.owner AND p.heartbeat_at > \(Self.nowMicros) - ?)
                    RETURNING key
                    """, [processID, keys.sorted(), ttl]))
        }
    }

    public func releaseLeases(_ keys: [String]) async throws {
        guard !keys.isEmpty else { return }
        try await write { db in
            try await db.execute("DELETE FROM leases WHERE key = ANY(?) AND owner = ?", [keys, processID])
        }
    }

    public func releaseAllLeases() async throws {
        try await write { db in
            try await db.execute("DELETE FROM leases WHERE owner = ?", [processID])
            try await db.execute("DELETE FROM reverie_processes WHERE id = ?", [processID])
        }
    }

    /// Listens on `reverie_events` on a connection of its own, until the stream is dropped.
    public func eventAnnouncements() -> AsyncStream<EventAnnouncement> {
        let (stream, continuation) = AsyncStream<EventAnnouncement>.makeStream(bufferingPolicy: .bufferingNewest(100_000))
        let task = Task { [client, logger] in
            while !Task.isCancelled {
                do {
                    try await client.withConnection { connection in
                        try await connection.listen(on: "reverie_events") { notifications in
                            for try await notification in notifications {
                                if let announcement = EventAnnouncement(payload: notification.payload) { continuation.yield(announcement) }
                            }
                        }
                    }
                } catch {
                    if Task.isCancelled { break }
                    logger.warning("event listener failed; listening again", metadata: ["error": "\(String(reflecting: error))"])
                    try? await Task.sleep(for: .seconds(1))
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
