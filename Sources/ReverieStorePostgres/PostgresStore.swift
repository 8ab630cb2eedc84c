import Foundation
import Logging
import PostgresNIO
import ReverieCore
import ReverieStore

/// The shared store: one PostgreSQL database that several `reverie serve` processes use at once.
///
/// Every write runs in its own transaction; read-modify-writes lock the row they change
/// (`SELECT … FOR UPDATE`), so two processes never overwrite each other's change. Event
/// appends are group-committed as in `SQLiteStore`: while one transaction commits, the appends
/// that arrive queue up and the next transaction takes all of them. A session's sequence
/// numbers come from its row, locked for the append, so appends through different processes
/// stay ordered and never collide. Each committed append announces itself on the
/// `reverie_events` channel (NOTIFY) so other processes can stream it live.
public final class PostgresStore: Store, Sendable {
    let client: PostgresClient
    let logger: Logger
    private let runner: Task<Void, Never>
    /// Appends waiting to be committed together.
    let appendQueue = EventAppendQueue()
    /// This process's identity in leases and event announcements.
    public let processID: String
    /// How long a process's leases outlive its last heartbeat.
    public let leaseTTL: Duration
    /// The schema holding Reverie's tables (`?schema=` in the URL), nil for the default.
    let schema: String?

    /// Connects to `url` (`postgres://user[:password]@host[:port]/database`, or a unix socket
    /// directory as `?host=/path`) and migrates the database to the current schema.
    public init(url: String, leaseTTL: Duration = .seconds(6), maximumConnections: Int = 20, logger: Logger = Logger(label: "reverie.store"))
        async throws
    {
        var configuration = try PostgresURL.configuration(url)
        self.schema = configuration.options.additionalStartupParameters.first { $0.0 == "search_path" }?.1
        configuration.options.maximumConnections = maximumConnections
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        self.leaseTTL = leaseTTL
        self.processID = "proc_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        self.runner = Task { await client.run() }
        do {
            try await PostgresMigrations.migrate(self)
            // Alive before taking any lease.
            try await heartbeat()
        } catch {
            runner.cancel()
            throw error
        }
    }

    public func close() async throws {
        try? await releaseAllLeases()
        runner.cancel()
        await runner.value
    }

    /// Runs `body` in a transaction, retrying it when PostgreSQL reports a deadlock or a
    /// serialization failure.
    @discardableResult
    func write<T: Sendable>(_ body: (SQLConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await transaction(body)
            } catch {
                let state = SQLState.of(error)
                guard attempt < 5, state == SQLState.deadlockDetected || state == SQLState.serializationFailure else { throw error }
                try await Task.sleep(for: .milliseconds(5 * attempt))
            }
        }
    }

    /// Runs `body` in one transaction: committed when it returns, rolled back when it throws.
    private func transaction<T: Sendable>(_ body: (SQLConnection) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            let sql = SQLConnection(connection: connection, logger: logger)
            try await sql.execute("BEGIN")
            let value: T
            do {
                value = try await body(sql)
            } catch {
                _ = try? await sql.execute("ROLLBACK")
                throw error
            }
            try await sql.execute("COMMIT")
            return value
        }
    }

    /// Runs reads outside a transaction.
    func read<T: Sendable>(_ body: (SQLConnection) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await body(SQLConnection(connection: connection, logger: logger))
        }
    }

    static func encode<T: Encodable>(_ value: T) throws -> String {
        try JSONCoding.string(value)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONCoding.decode(type, from: text)
    }

    /// Records outbox events in the current transaction and wakes every process's dispatcher.
    static func enqueue(_ events: [OutboxEvent], _ db: SQLConnection) async throws {
        guard !events.isEmpty else { return }
        var attributes: [String] = []
        for event in events { attributes.append(event.attributes.isEmpty ? "" : try encode(event.attributes)) }
        try await db.execute(
            """
            INSERT INTO outbox (id, type, resource_id, created_at, attributes)
            SELECT i, t, r, c, NULLIF(a, '') FROM UNNEST(?::text[], ?::text[], ?::text[], ?::bigint[], ?::text[]) AS x(i, t, r, c, a)
            """,
            [
                events.map(\.id), events.map(\.type), events.map(\.resourceID), SQLValue.intArray(events.map { Timestamp.micros($0.createdAt) }),
                attributes,
            ])
        try await db.execute("SELECT pg_notify('reverie_outbox', '')")
    }

    /// `IN (?, ?, …)` for `count` values.
    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ",")
    }
}

/// Reads a `postgres://` URL into a client configuration.
public enum PostgresURL {
    /// Whether `text` names a PostgreSQL database rather than a file.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgres://") || text.hasPrefix("postgresql://")
    }

    static func configuration(_ text: String) throws -> PostgresClient.Configuration {
        guard isPostgres(text), let components = URLComponents(string: text) else {
            throw APIError.invalidRequest("database: '\(text)' is not a postgres://user@host:port/database URL")
        }
        let username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
        var database = String(components.path.drop(while: { $0 == "/" }))
        if database.isEmpty { database = username }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
        var configuration: PostgresClient.Configuration
        if let socketDirectory = query["host"], socketDirectory.hasPrefix("/") {
            let port = components.port ?? 5432
            configuration = PostgresClient.Configuration(
                unixSocketPath: "\(socketDirectory)/.s.PGSQL.\(port)", username: username, password: password, database: database)
        } else {
            let host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "localhost"
            let tls: PostgresClient.Configuration.TLS = query["sslmode"] == "require" ? .require(.makeClientConfiguration()) : .disable
            configuration = PostgresClient.Configuration(
                host: host, port: components.port ?? 5432, username: username, password: password, database: database, tls: tls)
        }
        // `?schema=name` keeps Reverie's tables in that schema (which must exist).
        if let schema = query["schema"], !schema.isEmpty {
            guard schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw APIError.invalidRequest("database: schema '\(schema)' may hold only letters, digits and _")
            }
            configuration.options.additionalStartupParameters = [("search_path", schema)]
        }
        return configuration
    }
}
