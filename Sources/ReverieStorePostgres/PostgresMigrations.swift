import Foundation
import ReverieCore

/// The PostgreSQL schema, as versioned migrations recorded in `reverie_migrations`. A
/// migration, once released, is never edited: add a new one. Processes starting together
/// migrate one at a time (an advisory lock), so each migration runs once.
///
/// Text columns use the "C" collation, so ids and memory paths sort in byte order, as in SQLite.
enum PostgresMigrations {
    static let migrations: [(version: String, statements: [String])] = [
        ("v1-schema", schemaV1),
        ("v2-leases", leasesV2),
        ("v3-files-skills", filesAndSkillsV3),
        ("v4-deployments", deploymentsV4),
        ("v5-vaults", vaultsV5),
    ]

    /// Advisory lock key taken while migrating.
    private static let lockKey: Int64 = 0x7265_7665_7269_65

    static func migrate(_ store: PostgresStore) async throws {
        try await store.write { db in
            try await db.execute("SELECT pg_advisory_xact_lock(?)", [lockKey])
            if let schema = store.schema { try await db.execute("CREATE SCHEMA IF NOT EXISTS \"\(schema)\"") }
            try await db.execute("CREATE TABLE IF NOT EXISTS reverie_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)")
            let applied = Set(try await db.column(String.self, "SELECT version FROM reverie_migrations"))
            for migration in migrations where !applied.contains(migration.version) {
                for statement in migration.statements { try await db.execute(statement) }
                try await db.execute(
                    "INSERT INTO reverie_migrations (version, applied_at) VALUES (?, ?)", [migration.version, Timestamp.micros(Date())])
            }
        }
    }

    private static func statements(_ text: String) -> [String] {
        text.replacingOccurrences(of: " TEXT", with: " TEXT COLLATE \"C\"")
            .components(separatedBy: ";")
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .filter { !$0.isEmpty }
    }

    static let schemaV1 = statements("""
        CREATE TABLE agents (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            archived_at BIGINT,
            version BIGINT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX agents_by_created ON agents(created_at, id);
        CREATE TABLE agent_versions (
            agent_id TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
            version BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            body TEXT NOT NULL,
            PRIMARY KEY (agent_id, version)
        );
        CREATE TABLE environments (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            archived_at BIGINT,
            body TEXT NOT NULL
        );
        CREATE INDEX environments_by_created ON environments(created_at, id);
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            archived_at BIGINT,
            agent_id TEXT NOT NULL,
            agent_version BIGINT NOT NULL,
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
        );
        CREATE TABLE events (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            id TEXT NOT NULL,
            type TEXT NOT NULL,
            processed_at BIGINT NOT NULL,
            thread_id TEXT,
            body TEXT NOT NULL,
            PRIMARY KEY (session_id, seq)
        );
        CREATE UNIQUE INDEX events_by_id ON events(id);
        CREATE INDEX events_by_thread ON events(session_id, thread_id, seq);
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT
        );
        CREATE TABLE outbox (
            id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            dispatched_at BIGINT,
            attributes TEXT
        );
        CREATE INDEX outbox_pending ON outbox(created_at, id) WHERE dispatched_at IS NULL;
        CREATE INDEX outbox_dispatched ON outbox(dispatched_at) WHERE dispatched_at IS NOT NULL;
        CREATE TABLE memory_stores (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            archived_at BIGINT,
            body TEXT NOT NULL
        );
        CREATE INDEX memory_stores_by_created ON memory_stores(created_at, id);
        CREATE TABLE memories (
            id TEXT PRIMARY KEY,
            store_id TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            content TEXT NOT NULL,
            content_sha256 TEXT NOT NULL,
            content_size_bytes BIGINT NOT NULL,
            version_id TEXT NOT NULL,
            pinned BOOLEAN NOT NULL DEFAULT FALSE,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (store_id, path)
        );
        CREATE TABLE memory_versions (
            seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            store_id TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
            memory_id TEXT NOT NULL,
            operation TEXT NOT NULL,
            path TEXT,
            content TEXT,
            content_sha256 TEXT,
            content_size_bytes BIGINT,
            actor_type TEXT,
            actor_id TEXT,
            created_at BIGINT NOT NULL,
            redacted_at BIGINT,
            redacted_by_type TEXT,
            redacted_by_id TEXT
        );
        CREATE INDEX memory_versions_by_store ON memory_versions(store_id, seq);
        CREATE INDEX memory_versions_by_memory ON memory_versions(memory_id, seq);
        CREATE INDEX memory_versions_by_actor ON memory_versions(actor_type, actor_id);
        CREATE TABLE memory_usage (
            memory_id TEXT NOT NULL,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            store_id TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
            read_count BIGINT NOT NULL,
            first_read_at BIGINT NOT NULL,
            last_read_at BIGINT NOT NULL,
            PRIMARY KEY (memory_id, session_id)
        );
        CREATE INDEX memory_usage_by_session ON memory_usage(session_id);
        CREATE INDEX memory_usage_by_store ON memory_usage(store_id);
        CREATE TABLE memory_read_versions (
            memory_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            version_id TEXT NOT NULL,
            store_id TEXT NOT NULL,
            first_read_at BIGINT NOT NULL,
            PRIMARY KEY (memory_id, session_id, version_id),
            FOREIGN KEY (memory_id, session_id) REFERENCES memory_usage(memory_id, session_id) ON DELETE CASCADE
        );
        CREATE INDEX memory_read_versions_by_session ON memory_read_versions(session_id);
        CREATE TABLE webhook_endpoints (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            url TEXT NOT NULL,
            state TEXT NOT NULL,
            consecutive_failures BIGINT NOT NULL DEFAULT 0,
            secret TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX webhook_endpoints_by_created ON webhook_endpoints(created_at, id);
        CREATE TABLE webhook_deliveries (
            id TEXT PRIMARY KEY,
            endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
            event_id TEXT NOT NULL,
            event_type TEXT NOT NULL,
            resource_id TEXT NOT NULL,
            event_created_at BIGINT NOT NULL,
            attributes TEXT,
            state TEXT NOT NULL,
            attempts BIGINT NOT NULL DEFAULT 0,
            round_attempts BIGINT NOT NULL DEFAULT 0,
            next_attempt_at BIGINT,
            last_attempt_at BIGINT,
            last_status BIGINT,
            last_error TEXT NOT NULL DEFAULT '',
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            UNIQUE (endpoint_id, event_id)
        );
        CREATE INDEX webhook_deliveries_due_by_endpoint ON webhook_deliveries(endpoint_id, state, next_attempt_at, id);
        CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries(endpoint_id, created_at, id);
        CREATE TABLE webhook_attempts (
            id TEXT PRIMARY KEY,
            delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
            endpoint_id TEXT NOT NULL,
            event_id TEXT NOT NULL,
            number BIGINT NOT NULL,
            started_at BIGINT NOT NULL,
            status_code BIGINT,
            latency_micros BIGINT NOT NULL,
            error TEXT NOT NULL,
            succeeded BOOLEAN NOT NULL,
            response_excerpt TEXT NOT NULL
        );
        CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts(delivery_id, started_at, id);
        CREATE TABLE dreams (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            archived_at BIGINT,
            status TEXT NOT NULL,
            memory_store_id TEXT NOT NULL,
            in_place_store_id TEXT,
            body TEXT NOT NULL,
            report TEXT
        );
        CREATE INDEX dreams_created ON dreams(created_at, id);
        CREATE INDEX dreams_unfinished ON dreams(status) WHERE status IN ('pending', 'running');
        CREATE UNIQUE INDEX dreams_one_in_place ON dreams(in_place_store_id)
            WHERE in_place_store_id IS NOT NULL AND status IN ('pending', 'running');
        CREATE TABLE session_threads (
            id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            parent_thread_id TEXT,
            created_at BIGINT NOT NULL,
            archived_at BIGINT,
            status TEXT NOT NULL,
            state TEXT NOT NULL,
            agent TEXT NOT NULL
        );
        CREATE INDEX session_threads_by_session ON session_threads(session_id, created_at, id);
        CREATE TABLE evaluations (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            status TEXT NOT NULL,
            body TEXT NOT NULL
        );
        CREATE INDEX evaluations_created ON evaluations(created_at, id);
        CREATE INDEX evaluations_unfinished ON evaluations(status) WHERE status IN ('pending', 'running');
        CREATE TABLE dream_policies (
            memory_store_id TEXT PRIMARY KEY,
            body TEXT NOT NULL
        );
        CREATE TABLE session_resumptions (
            session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
            attempts BIGINT NOT NULL
        );
        CREATE TABLE work_items (
            id TEXT PRIMARY KEY,
            environment_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            state TEXT NOT NULL,
            metadata TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            acknowledged_at BIGINT,
            started_at BIGINT,
            latest_heartbeat_at BIGINT,
            stop_requested_at BIGINT,
            stopped_at BIGINT,
            lease_expires_at BIGINT,
            lease_ttl_seconds BIGINT NOT NULL,
            polled_at BIGINT,
            polled_by TEXT,
            secret_hash TEXT
        );
        CREATE INDEX work_items_queue ON work_items(environment_id, state, created_at);
        CREATE INDEX work_items_session ON work_items(session_id, state);
        CREATE INDEX work_items_secret ON work_items(secret_hash) WHERE secret_hash IS NOT NULL;
        CREATE TABLE environment_keys (
            id TEXT PRIMARY KEY,
            environment_id TEXT NOT NULL,
            name TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            created_at BIGINT NOT NULL,
            revoked_at BIGINT
        );
        CREATE INDEX environment_keys_environment ON environment_keys(environment_id, created_at)
        """)

    /// Processes' heartbeats and the leases they hold (session loops, dreams, evaluations).
    static let leasesV2 = statements("""
        CREATE TABLE reverie_processes (
            id TEXT PRIMARY KEY,
            started_at BIGINT NOT NULL,
            heartbeat_at BIGINT NOT NULL
        );
        CREATE TABLE leases (
            key TEXT PRIMARY KEY,
            owner TEXT NOT NULL,
            acquired_at BIGINT NOT NULL
        );
        CREATE INDEX leases_by_owner ON leases(owner)
        """)

    /// The Files API's metadata and custom skills with their versions.
    static let filesAndSkillsV3 = statements("""
        CREATE TABLE files (
            id TEXT PRIMARY KEY,
            filename TEXT NOT NULL,
            mime_type TEXT NOT NULL,
            size_bytes BIGINT NOT NULL,
            sha256 TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            downloadable BOOLEAN NOT NULL,
            scope_session_id TEXT,
            source_path TEXT,
            expires_at BIGINT
        );
        CREATE INDEX files_created ON files(created_at, id);
        CREATE INDEX files_scope ON files(scope_session_id, created_at, id) WHERE scope_session_id IS NOT NULL;
        CREATE INDEX files_output ON files(scope_session_id, source_path) WHERE source_path IS NOT NULL;
        CREATE INDEX files_sha ON files(sha256);
        CREATE TABLE skills (
            id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL,
            latest_version_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX skills_created ON skills(created_at, id);
        CREATE TABLE skill_versions (
            skill_id TEXT NOT NULL REFERENCES skills(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            description TEXT NOT NULL,
            files TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (skill_id, id)
        );
        CREATE INDEX skill_versions_created ON skill_versions(skill_id, created_at, id)
        """)

    /// Deployments and their run records (one run per scheduled occurrence).
    static let deploymentsV4 = statements("""
        CREATE TABLE deployments (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            archived_at BIGINT,
            agent_id TEXT NOT NULL,
            paused BOOLEAN NOT NULL,
            next_fire_at BIGINT,
            body TEXT NOT NULL
        );
        CREATE INDEX deployments_created ON deployments(created_at, id);
        CREATE INDEX deployments_due ON deployments(next_fire_at) WHERE next_fire_at IS NOT NULL;
        CREATE TABLE deployment_runs (
            id TEXT PRIMARY KEY,
            deployment_id TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            trigger_type TEXT NOT NULL,
            scheduled_at BIGINT,
            session_id TEXT,
            has_error BOOLEAN NOT NULL,
            body TEXT NOT NULL
        );
        CREATE UNIQUE INDEX deployment_runs_occurrence ON deployment_runs(deployment_id, scheduled_at) WHERE scheduled_at IS NOT NULL;
        CREATE INDEX deployment_runs_created ON deployment_runs(created_at, id);
        CREATE INDEX deployment_runs_by_deployment ON deployment_runs(deployment_id, created_at, id)
        """)

    /// Vaults and their credentials (secrets sealed in `sealed_secrets`).
    static let vaultsV5 = statements("""
        CREATE TABLE vaults (
            id TEXT PRIMARY KEY,
            created_at BIGINT NOT NULL,
            archived_at BIGINT,
            body TEXT NOT NULL
        );
        CREATE INDEX vaults_created ON vaults(created_at, id);
        CREATE TABLE vault_credentials (
            id TEXT PRIMARY KEY,
            vault_id TEXT NOT NULL REFERENCES vaults(id) ON DELETE CASCADE,
            slot TEXT NOT NULL,
            created_at BIGINT NOT NULL,
            archived_at BIGINT,
            body TEXT NOT NULL,
            sealed_secrets TEXT NOT NULL
        );
        CREATE INDEX vault_credentials_vault ON vault_credentials(vault_id, created_at, id)
        """)
}
