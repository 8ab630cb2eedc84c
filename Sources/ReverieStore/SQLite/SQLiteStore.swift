import Foundation
import GRDB
import Logging
import ReverieCore

/// The embedded store: one SQLite file in WAL mode, accessed through GRDB.
///
/// Writes are serialized on one connection; reads run concurrently. By default an
/// acknowledged write has been fsynced (`Durability.fsync`, `synchronous=FULL`), with event
/// appends group-committed so one fsync covers a batch; `Durability.process`
/// (`synchronous=NORMAL` in WAL mode) keeps every committed transaction across a process
/// crash but not a power cut.
public final class SQLiteStore: Store {
    let pool: DatabasePool
    let logger: Logger
    /// Committed headers of recently appended-to sessions.
    let headers = SessionHeaderCache()
    /// Appends waiting to be committed together.
    let appendQueue = EventAppendQueue()

    /// Opens (creating if needed) the database at `path` and migrates it to the current schema.
    public init(path: String, durability: Durability = .fsync, logger: Logger = Logger(label: "reverie.store")) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        configuration.label = "reverie"
        configuration.maximumReaderCount = 8
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = \(durability.synchronousPragma)")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        self.pool = try DatabasePool(path: path, configuration: configuration)
        self.logger = logger
        try SQLiteMigrations.migrator.migrate(pool)
    }

    public func close() async throws {
        try pool.close()
    }

    /// Runs a write transaction, translating SQLite errors into API errors.
    func write<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await pool.write(body)
    }

    /// Runs a read.
    func read<T: Sendable>(_ body: @Sendable (Database) throws -> T) async throws -> T {
        try await pool.read(body)
    }
}

/// The schema, as versioned migrations. A migration, once released, is never edited: add a new one.
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-core") { db in
            try db.execute(sql: """
                CREATE TABLE agents (
                    id TEXT PRIMARY KEY NOT NULL,
                    created_at INTEGER NOT NULL,
                    archived_at INTEGER,
                    version INTEGER NOT NULL,
                    body TEXT NOT NULL
                );
                CREATE INDEX agents_by_created ON agents(created_at, id);

                CREATE TABLE agent_versions (
                    agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
                    version INTEGER NOT NULL,
                    created_at INTEGER NOT NULL,
                    body TEXT NOT NULL,
                    PRIMARY KEY (agent_id, version)
                ) WITHOUT ROWID;

                CREATE TABLE environments (
                    id TEXT PRIMARY KEY NOT NULL,
                    created_at INTEGER NOT NULL,
                    archived_at INTEGER,
                    body TEXT NOT NULL
                );
                CREATE INDEX environments_by_created ON environments(created_at, id);

                CREATE TABLE sessions (
                    id TEXT PRIMARY KEY NOT NULL,
                    created_at INTEGER NOT NULL,
                    archived_at INTEGER,
                    agent_id TEXT NOT NULL,
                    agent_version INTEGER NOT NULL,
                    environment_id TEXT NOT NULL,
                    status TEXT NOT NULL,
                    state TEXT NOT NULL,
                    body TEXT NOT NULL
                );
                CREATE INDEX sessions_by_created ON sessions(created_at, id);
                CREATE INDEX sessions_by_agent ON sessions(agent_id, agent_version);
                CREATE INDEX sessions_by_status ON sessions(status);
                CREATE INDEX sessions_by_environment ON sessions(environment_id);

                CREATE TABLE session_memory_stores (
                    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                    memory_store_id TEXT NOT NULL,
                    PRIMARY KEY (memory_store_id, session_id)
                ) WITHOUT ROWID;

                CREATE TABLE events (
                    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
                    seq INTEGER NOT NULL,
                    id TEXT NOT NULL,
                    type TEXT NOT NULL,
                    processed_at INTEGER NOT NULL,
                    thread_id TEXT,
                    body TEXT NOT NULL,
                    PRIMARY KEY (session_id, seq)
                ) WITHOUT ROWID;
                CREATE UNIQUE INDEX events_by_id ON events(id);

                CREATE TABLE api_keys (
                    id TEXT PRIMARY KEY NOT NULL,
                    name TEXT NOT NULL,
                    secret_hash TEXT NOT NULL UNIQUE,
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );

                CREATE TABLE outbox (
                    id TEXT PRIMARY KEY NOT NULL,
                    type TEXT NOT NULL,
                    resource_id TEXT NOT NULL,
                    created_at INTEGER NOT NULL,
                    dispatched_at INTEGER
                );
                CREATE INDEX outbox_pending ON outbox(dispatched_at, created_at);
                """)
        }
        migrator.registerMigration("v2-memory") { db in try db.execute(sql: SQLiteMemorySchema.v2) }
        migrator.registerMigration("v3-webhooks", migrate: SQLiteStore.migrateWebhooks)
        migrator.registerMigration("v4-dreams") { db in try db.execute(sql: SQLiteStore.dreamsSchema) }
        migrator.registerMigration("v5-threads") { db in try db.execute(sql: SQLiteStore.threadsSchema) }
        migrator.registerMigration("v6-webhook-claims", migrate: SQLiteStore.migrateWebhookClaims)
        migrator.registerMigration("v7-evaluations") { db in try db.execute(sql: SQLiteStore.evaluationsSchema) }
        migrator.registerMigration("v8-dream-policies") { db in try db.execute(sql: SQLiteStore.dreamPoliciesSchema) }
        migrator.registerMigration("v9-session-resumptions") { db in try db.execute(sql: SQLiteStore.resumptionsSchema) }
        migrator.registerMigration("v10-work-queue") { db in try db.execute(sql: SQLiteStore.workQueueSchema) }
        migrator.registerMigration("v11-files") { db in try db.execute(sql: SQLiteStore.filesSchema) }
        migrator.registerMigration("v12-skills") { db in try db.execute(sql: SQLiteStore.skillsSchema) }
        migrator.registerMigration("v13-deployments") { db in try db.execute(sql: SQLiteStore.deploymentsSchema) }
        migrator.registerMigration("v14-vaults") { db in try db.execute(sql: SQLiteStore.vaultsSchema) }
        return migrator
    }
}
