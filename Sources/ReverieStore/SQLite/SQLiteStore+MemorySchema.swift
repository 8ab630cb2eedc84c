/// The memory tables (migration `v2-memory`).
///
/// - `memory_stores`: one row per store, the store's JSON in `body`.
/// - `memories`: the current state of each live memory; `(store_id, path)` is unique and
///   compared in UTF-8 byte order (SQLite's BINARY collation), the order lists use.
/// - `memory_versions`: the immutable history; `seq` orders it. Versions outlive their memory.
/// - `memory_usage` / `memory_read_versions`: which sessions read which memory versions.
enum SQLiteMemorySchema {
    static let v2 = """
        CREATE TABLE memory_stores (
            id TEXT PRIMARY KEY NOT NULL,
            created_at INTEGER NOT NULL,
            archived_at INTEGER,
            body TEXT NOT NULL
        );
        CREATE INDEX memory_stores_by_created ON memory_stores(created_at, id);

        CREATE TABLE memories (
            id TEXT PRIMARY KEY NOT NULL,
            store_id TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
            path TEXT NOT NULL COLLATE BINARY,
            content TEXT NOT NULL,
            content_sha256 TEXT NOT NULL,
            content_size_bytes INTEGER NOT NULL,
            version_id TEXT NOT NULL,
            pinned INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (store_id, path)
        );

        CREATE TABLE memory_versions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            store_id TEXT NOT NULL REFERENCES memory_stores(id) ON DELETE CASCADE,
            memory_id TEXT NOT NULL,
            operation TEXT NOT NULL,
            path TEXT,
            content TEXT,
            content_sha256 TEXT,
            content_size_bytes INTEGER,
            actor_type TEXT,
            actor_id TEXT,
            created_at INTEGER NOT NULL,
            redacted_at INTEGER,
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
            read_count INTEGER NOT NULL,
            first_read_at INTEGER NOT NULL,
            last_read_at INTEGER NOT NULL,
            PRIMARY KEY (memory_id, session_id)
        ) WITHOUT ROWID;
        CREATE INDEX memory_usage_by_session ON memory_usage(session_id);
        CREATE INDEX memory_usage_by_store ON memory_usage(store_id);

        CREATE TABLE memory_read_versions (
            memory_id TEXT NOT NULL,
            session_id TEXT NOT NULL,
            version_id TEXT NOT NULL,
            store_id TEXT NOT NULL,
            first_read_at INTEGER NOT NULL,
            PRIMARY KEY (memory_id, session_id, version_id),
            FOREIGN KEY (memory_id, session_id) REFERENCES memory_usage(memory_id, session_id) ON DELETE CASCADE
        ) WITHOUT ROWID;
        CREATE INDEX memory_read_versions_by_session ON memory_read_versions(session_id);
        """
}
