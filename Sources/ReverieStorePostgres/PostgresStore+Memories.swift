import Foundation
import ReverieCore
import ReverieStore

extension PostgresStore {
    // MARK: stores

    public func createMemoryStore(_ store: MemoryStore) async throws {
        let body = try Self.encode(store)
        try await write { db in
            try await db.execute(
                "INSERT INTO memory_stores (id, created_at, archived_at, body) VALUES (?, ?, ?, ?)",
                [store.id, Timestamp.micros(store.createdAt), store.archivedAt.map(Timestamp.micros), body])
            try await Self.enqueue([OutboxEvent(type: "memory_store.created", resourceID: store.id, createdAt: store.createdAt)], db)
        }
    }

    public func memoryStore(id: String) async throws -> MemoryStore? {
        try await read { db in try await Self.memoryStore(id: id, db) }
    }

    public func updateMemoryStore(id: String, _ change: @Sendable (MemoryStore) throws -> MemoryStore) async throws -> MemoryStore {
        try await write { db in
            guard let current = try await Self.memoryStore(id: id, forUpdate: true, db) else { throw APIError.notFound("memory store", id) }
            let next = try change(current)
            guard next != current else { return current }
            try await db.execute(
                "UPDATE memory_stores SET archived_at = ?, body = ? WHERE id = ?", [next.archivedAt.map(Timestamp.micros), try Self.encode(next), id])
            if current.archivedAt == nil, let archivedAt = next.archivedAt {
                try await Self.enqueue([OutboxEvent(type: "memory_store.archived", resourceID: id, createdAt: archivedAt)], db)
            }
            return next
        }
    }

    public func listMemoryStores(_ filter: MemoryStoreFilter, page: PageRequest) async throws -> Page<MemoryStore> {
        try await read { db in
            var query = PostgresKeysetQuery(sortColumn: "created_at")
            if !filter.includeArchived { query.filter("archived_at IS NULL") }
            query.filter(filter.createdAt, column: "created_at")
            return try await query.page(
                db, from: "memory_stores", select: "id, created_at, body", page: page,
                decode: { try Self.decode(MemoryStore.self, $0["body"]) }, position: { (try $0["created_at"], try $0["id"]) })
        }
    }

    public func deleteMemoryStore(id: String) async throws {
        try await write { db in
            guard try await db.fetchOne("SELECT 1 FROM memory_stores WHERE id = ? FOR UPDATE", [id]) != nil else {
                throw APIError.notFound("memory store", id)
            }
            try await db.execute("DELETE FROM memory_read_versions WHERE store_id = ?", [id])
            try await db.execute("DELETE FROM memory_usage WHERE store_id = ?", [id])
            try await db.execute("DELETE FROM memory_versions WHERE store_id = ?", [id])
            try await db.execute("DELETE FROM memories WHERE store_id = ?", [id])
            try await db.execute("DELETE FROM memory_stores WHERE id = ?", [id])
            try await Self.enqueue([OutboxEvent(type: "memory_store.deleted", resourceID: id)], db)
        }
    }

    static func memoryStore(id: String, forUpdate: Bool = false, _ db: SQLConnection) async throws -> MemoryStore? {
        try await db.scalar(String.self, "SELECT body FROM memory_stores WHERE id = ?" + (forUpdate ? " FOR UPDATE" : ""), [id])
            .map { try decode(MemoryStore.self, $0) }
    }

    /// The store, which must exist and, when `writable`, not be archived. Writers lock its row
    /// (shared), so a store's memories change one writer at a time per path check.
    static func requireMemoryStore(id: String, writable: Bool, _ db: SQLConnection) async throws -> MemoryStore {
        guard let store = try await memoryStore(id: id, forUpdate: writable, db) else { throw APIError.notFound("memory store", id) }
        if writable, store.archivedAt != nil { throw APIError.archived("memory store", id) }
        return store
    }

    // MARK: memories

    public func createMemory(storeID: String, path: String, content: String, pinned: Bool, actor: MemoryActor, at date: Date)
        async throws -> Memory
    {
        try await write { db in
            _ = try await Self.requireMemoryStore(id: storeID, writable: true, db)
            return try await Self.insertMemory(storeID: storeID, path: path, content: content, pinned: pinned, actor: actor, at: date, db)
        }
    }

    public func updateMemory(storeID: String, id: String, _ change: MemoryChange, actor: MemoryActor, at date: Date) async throws -> Memory {
        try await write { db in
            _ = try await Self.requireMemoryStore(id: storeID, writable: true, db)
            guard let current = try await Self.fetchMemory(storeID: storeID, column: "id", value: id, db) else {
                throw APIError.notFound("memory", id)
            }
            return try await Self.applyChange(change, to: current, actor: actor, at: date, db)
        }
    }

    public func putMemory(storeID: String, path: String, content: String, expectedSHA256: String?, actor: MemoryActor, at date: Date)
        async throws -> Memory
    {
        try await write { db in
            _ = try await Self.requireMemoryStore(id: storeID, writable: true, db)
            if let current = try await Self.fetchMemory(storeID: storeID, column: "path", value: path, db) {
                return try await Self.applyChange(
                    MemoryChange(content: content, expectedSHA256: expectedSHA256), to: current, actor: actor, at: date, db)
            }
            if expectedSHA256 != nil {
                throw APIError(.memoryPreconditionFailed, "precondition: there is no memory at '\(path)' to match content_sha256")
            }
            return try await Self.insertMemory(storeID: storeID, path: path, content: content, pinned: false, actor: actor, at: date, db)
        }
    }

    public func deleteMemory(storeID: String, id: String, expectedSHA256: String?, actor: MemoryActor, at date: Date) async throws -> Memory {
        try await write { db in
            _ = try await Self.requireMemoryStore(id: storeID, writable: false, db)
            try await db.execute("SELECT 1 FROM memory_stores WHERE id = ? FOR UPDATE", [storeID])
            guard let current = try await Self.fetchMemory(storeID: storeID, column: "id", value: id, db) else {
                throw APIError.notFound("memory", id)
            }
            try current.checkChangeable(by: actor)
            if let expectedSHA256, expectedSHA256 != current.contentSHA256 {
                throw APIError(
                    .memoryPreconditionFailed,
                    "expected_content_sha256: \(expectedSHA256) does not match the memory's current content_sha256 \(current.contentSHA256)")
            }
            let version = MemoryVersion(id: ResourceID.make(ResourceID.memoryVersion, at: date), recording: current, operation: .deleted, by: actor, at: date)
            try await Self.insertVersion(version, db)
            try await db.execute("DELETE FROM memories WHERE id = ?", [id])
            return current
        }
    }

    public func memory(storeID: String, id: String) async throws -> Memory? {
        try await read { db in try await Self.fetchMemory(storeID: storeID, column: "id", value: id, db) }
    }

    public func memory(storeID: String, path: String) async throws -> Memory? {
        try await read { db in try await Self.fetchMemory(storeID: storeID, column: "path", value: path, db) }
    }

    public func listMemories(storeID: String, _ query: MemoryListQuery) async throws -> Page<MemoryListItem> {
        try await read { db in
            _ = try await Self.requireMemoryStore(id: storeID, writable: false, db)
            let columns = query.view == .full ? Self.memoryColumns : Self.memoryColumnsWithoutContent
            let end = MemoryPath.rangeEnd(ofPrefix: query.pathPrefix)
            let baseDepth = MemoryPath.segments(query.pathPrefix).filter { !$0.isEmpty }.count
            var lower = query.pathPrefix
            var inclusive = true
            if let after = query.after {
                let bound = after.isPrefix ? MemoryPath.rangeEnd(ofPrefix: after.path) : after.path
                if !MemoryPath.precedes(bound, lower) {
                    lower = bound
                    inclusive = after.isPrefix
                }
            }
            var items: [MemoryListItem] = []
            let chunk = 200
            // Rows are read a chunk at a time: a folder deeper than `depth` is listed once and
            // the scan restarts past it.
            scan: while items.count <= query.limit {
                let rows = try await db.fetchAll(
                    "SELECT \(columns) FROM memories WHERE store_id = ? AND path \(inclusive ? ">=" : ">") ? AND path < ? ORDER BY path LIMIT ?",
                    [storeID, lower, end, chunk])
                for row in rows {
                    let memory = try Self.memory(row)
                    let segments = MemoryPath.segments(memory.path)
                    if query.depth > 0, segments.count - baseDepth > query.depth {
                        let folder = "/" + segments[0..<(baseDepth + query.depth)].joined(separator: "/") + "/"
                        items.append(.prefix(folder))
                        lower = MemoryPath.rangeEnd(ofPrefix: folder)
                        inclusive = true
                        continue scan
                    }
                    items.append(.memory(memory))
                    lower = memory.path
                    inclusive = false
                    if items.count > query.limit { break scan }
                }
                if rows.count < chunk { break }
            }
            let hasMore = items.count > query.limit
            if hasMore { items.removeLast(items.count - query.limit) }
            let next = hasMore ? items.last.map { MemoryListPosition(after: $0).cursor } : nil
            return Page(items: items, next: next)
        }
    }

    public func memories(storeID: String, under prefix: String, includeContent: Bool) async throws -> [Memory] {
        try await read { db in
            _ = try await Self.requireMemoryStore(id: storeID, writable: false, db)
            let columns = includeContent ? Self.memoryColumns : Self.memoryColumnsWithoutContent
            return try await db.fetchAll(
                "SELECT \(columns) FROM memories WHERE store_id = ? AND path >= ? AND path < ? ORDER BY path",
                [storeID, prefix, MemoryPath.rangeEnd(ofPrefix: prefix)]
            ).map(Self.memory)
        }
    }

    static let memoryColumnsWithoutContent =
        "id, store_id, path, content_sha256, content_size_bytes, version_id, pinned, created_at, updated_at"
    static let memoryColumns = memoryColumnsWithoutContent + ", content"

    static func memory(_ row: SQLRow) throws -> Memory {
        Memory(
            id: try row["id"], storeID: try row["store_id"], path: try row["path"], content: row.hasColumn("content") ? try row["content"] : nil,
            contentSHA256: try row["content_sha256"], contentSizeBytes: try row["content_size_bytes"], versionID: try row["version_id"],
            pinned: try row["pinned"], createdAt: Timestamp.fromMicros(try row["created_at"]), updatedAt: Timestamp.fromMicros(try row["updated_at"]))
    }

    static func fetchMemory(storeID: String, column: String, value: String, _ db: SQLConnection) async throws -> Memory? {
        try await db.fetchOne("SELECT \(memoryColumns) FROM memories WHERE store_id = ? AND \(column) = ?", [storeID, value]).map(memory)
    }

    static func checkPathFree(storeID: String, path: String, ignoring memoryID: String?, _ db: SQLConnection) async throws {
        let other = memoryID ?? ""
        if try await db.fetchOne("SELECT 1 FROM memories WHERE store_id = ? AND path = ? AND id != ?", [storeID, path, other]) != nil {
            throw APIError(.memoryPathConflict, "path: a memory already exists at '\(path)'")
        }
        let segments = MemoryPath.segments(path)
        if segments.count > 1 {
            let ancestors = (1..<segments.count).map { "/" + segments[0..<$0].joined(separator: "/") }
            if let file = try await db.scalar(
                String.self, "SELECT path FROM memories WHERE store_id = ? AND id != ? AND path = ANY(?) LIMIT 1", [storeID, other, ancestors])
            {
                throw APIError(.memoryPathConflict, "path: '\(file)' is a memory, so '\(path)' can't be created below it")
            }
        }
        let folder = path + "/"
        if try await db.fetchOne(
            "SELECT 1 FROM memories WHERE store_id = ? AND id != ? AND path >= ? AND path < ? LIMIT 1",
            [storeID, other, folder, MemoryPath.rangeEnd(ofPrefix: folder)]) != nil
        {
            throw APIError(.memoryPathConflict, "path: '\(path)' is a folder of other memories")
        }
    }

    static func insertMemory(storeID: String, path: String, content: String, pinned: Bool, actor: MemoryActor, at date: Date, _ db: SQLConnection)
        async throws -> Memory
    {
        try await checkPathFree(storeID: storeID, path: path, ignoring: nil, db)
        let memory = Memory(
            id: ResourceID.make(ResourceID.memory, at: date), storeID: storeID, path: path, content: content,
            contentSHA256: MemoryPath.sha256(content), contentSizeBytes: content.utf8.count,
            versionID: ResourceID.make(ResourceID.memoryVersion, at: date), pinned: pinned, createdAt: date, updatedAt: date)
        try await db.execute(
            """
            INSERT INTO memories (id, store_id, path, content, content_sha256, content_size_bytes, version_id, pinned, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                memory.id, storeID, path, content, memory.contentSHA256, memory.contentSizeBytes, memory.versionID, pinned,
                Timestamp.micros(date), Timestamp.micros(date),
            ])
        try await insertVersion(MemoryVersion(id: memory.versionID, recording: memory, operation: .created, by: actor, at: date), db)
        return memory
    }

    static func applyChange(_ change: MemoryChange, to current: Memory, actor: MemoryActor, at date: Date, _ db: SQLConnection) async throws
        -> Memory
    {
        try current.checkChangeable(by: actor)
        if actor.isDream, let pinned = change.pinned, pinned != current.pinned {
            throw APIError.conflict("pinned: dreams can't pin or unpin memories (memory '\(current.path)')")
        }
        try change.checkPrecondition(current)
        var next = current
        if let pinned = change.pinned { next.pinned = pinned }
        if change.changesContentOrPath(of: current) {
            if let path = change.path, path != current.path {
                try await checkPathFree(storeID: current.storeID, path: path, ignoring: current.id, db)
                next.path = path
            }
            if let content = change.content {
                next.content = content
                next.contentSHA256 = MemoryPath.sha256(content)
                next.contentSizeBytes = content.utf8.count
            }
            next.versionID = ResourceID.make(ResourceID.memoryVersion, at: date)
            next.updatedAt = date
            try await insertVersion(MemoryVersion(id: next.versionID, recording: next, operation: .modified, by: actor, at: date), db)
        }
        guard next != current else { return current }
        try await db.execute(
            """
            UPDATE memories SET path = ?, content = ?, content_sha256 = ?, content_size_bytes = ?, version_id = ?, pinned = ?,
            updated_at = ? WHERE id = ?
            """,
            [
                next.path, next.content ?? "", next.contentSHA256, next.contentSizeBytes, next.versionID, next.pinned,
                Timestamp.micros(next.updatedAt), next.id,
            ])
        return next
    }

    // MARK: versions

    public func memoryVersion(storeID: String, id: String) async throws -> MemoryVersion? {
        try await read { db in try await Self.fetchVersion(storeID: storeID, id: id, db) }
    }

    public func listMemoryVersions(storeID: String, _ filter: MemoryVersionFilter, page: PageRequest) async throws -> Page<MemoryVersion> {
        try await read { db in
            _ = try await Self.requireMemoryStore(id: storeID, writable: false, db)
            var query = PostgresKeysetQuery(sortColumn: "seq")
            query.filter("store_id = ?", [storeID])
            if let memoryID = filter.memoryID { query.filter("memory_id = ?", [memoryID]) }
            if let operation = filter.operation { query.filter("operation = ?", [operation.rawValue]) }
            if let actor = filter.actor { query.filter("actor_type = ? AND actor_id = ?", [actor.type, actor.id]) }
            query.filter(filter.createdAt, column: "created_at")
            return try await query.page(
                db, from: "memory_versions", select: "*", page: page, decode: Self.version, position: { (try $0["seq"], try $0["id"]) })
        }
    }

    public func redactMemoryVersion(storeID: String, id: String, actor: MemoryActor, at date: Date) async throws -> MemoryVersion {
        try await write { db in
            _ = try await Self.requireMemoryStore(id: storeID, writable: false, db)
            guard let current = try await Self.fetchVersion(storeID: storeID, id: id, forUpdate: true, db) else {
                throw APIError.notFound("memory version", id)
            }
            if current.redactedAt != nil { return current }
            try await db.execute(
                """
                UPDATE memory_versions SET path = NULL, content = NULL, content_sha256 = NULL, content_size_bytes = NULL,
                redacted_at = ?, redacted_by_type = ?, redacted_by_id = ? WHERE id = ?
                """, [Timestamp.micros(date), actor.type, actor.id, id])
            var next = current
            next.path = nil
            next.content = nil
            next.contentSHA256 = nil
            next.contentSizeBytes = nil
            next.redactedAt = date
            next.redactedBy = actor
            return next
        }
    }

    static func fetchVersion(storeID: String, id: String, forUpdate: Bool = false, _ db: SQLConnection) async throws -> MemoryVersion? {
        try await db.fetchOne("SELECT * FROM memory_versions WHERE id = ? AND store_id = ?" + (forUpdate ? " FOR UPDATE" : ""), [id, storeID])
            .map(version)
    }

    static func insertVersion(_ version: MemoryVersion, _ db: SQLConnection) async throws {
        try await db.execute(
            """
            INSERT INTO memory_versions (id, store_id, memory_id, operation, path, content, content_sha256, content_size_bytes,
            actor_type, actor_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                version.id, version.storeID, version.memoryID, version.operation.rawValue, version.path, version.content, version.contentSHA256,
                version.contentSizeBytes, version.createdBy?.type, version.createdBy?.id, Timestamp.micros(version.createdAt),
            ])
    }

    static func version(_ row: SQLRow) throws -> MemoryVersion {
        let operationText: String = try row["operation"]
        guard let operation = MemoryOperation(rawValue: operationText) else {
            throw APIError.internalError("stored memory version has unknown operation '\(operationText)'")
        }
        return MemoryVersion(
            id: try row["id"], storeID: try row["store_id"], memoryID: try row["memory_id"], operation: operation, path: try row["path"],
            content: try row["content"], contentSHA256: try row["content_sha256"], contentSizeBytes: try row["content_size_bytes"],
            createdBy: storedActor(type: try row["actor_type"], id: try row["actor_id"]), createdAt: Timestamp.fromMicros(try row["created_at"]),
            redactedAt: (try row["redacted_at"] as Int64?).map(Timestamp.fromMicros),
            redactedBy: storedActor(type: try row["redacted_by_type"], id: try row["redacted_by_id"]))
    }

    private static func storedActor(type: String?, id: String?) -> MemoryActor? {
        guard let type, let id else { return nil }
        return MemoryActor(type: type, id: id)
    }

    // MARK: usage

    public func recordMemoryReads(sessionID: String, _ reads: [MemoryRead], at date: Date) async throws {
        guard !reads.isEmpty else { return }
        try await write { db in
            guard try await db.fetchOne("SELECT 1 FROM sessions WHERE id = ?", [sessionID]) != nil else {
                throw APIError.notFound("session", sessionID)
            }
            let micros = Timestamp.micros(date)
            for read in reads {
                guard try await db.fetchOne(
                    "SELECT 1 FROM memory_versions WHERE id = ? AND memory_id = ? AND store_id = ?", [read.versionID, read.memoryID, read.storeID]) != nil
                else {
                    throw APIError.notFound("memory version", "\(read.versionID) of memory \(read.memoryID) in store \(read.storeID)")
                }
                try await db.execute(
                    """
                    INSERT INTO memory_usage (memory_id, session_id, store_id, read_count, first_read_at, last_read_at)
                    VALUES (?, ?, ?, 1, ?, ?)
                    ON CONFLICT (memory_id, session_id) DO UPDATE SET read_count = memory_usage.read_count + 1,
                    last_read_at = GREATEST(memory_usage.last_read_at, excluded.last_read_at)
                    """, [read.memoryID, sessionID, read.storeID, micros, micros])
                try await db.execute(
                    """
                    INSERT INTO memory_read_versions (memory_id, session_id, version_id, store_id, first_read_at)
                    VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                    """, [read.memoryID, sessionID, read.versionID, read.storeID, micros])
            }
        }
    }

    public func memoryUsage(storeID: String, memoryID: String, page: PageRequest) async throws -> Page<MemoryUsage> {
        try await read { db in
            _ = try await Self.requireMemoryStore(id: storeID, writable: false, db)
            var query = PostgresKeysetQuery(sortColumn: "first_read_at", idColumn: "session_id")
            query.filter("store_id = ? AND memory_id = ?", [storeID, memoryID])
            return try await query.page(
                db, from: "memory_usage", select: "*", page: page,
                decode: { row in try await Self.usage(row, db) }, position: { (try $0["first_read_at"], try $0["session_id"]) })
        }
    }

    public func memoryReads(sessionID: String) async throws -> [MemoryRead] {
        try await read { db in
            try await db.fetchAll(
                "SELECT store_id, memory_id, version_id FROM memory_read_versions WHERE session_id = ? ORDER BY first_read_at, version_id", [sessionID]
            ).map { MemoryRead(storeID: try $0["store_id"], memoryID: try $0["memory_id"], versionID: try $0["version_id"]) }
        }
    }

    private static func usage(_ row: SQLRow, _ db: SQLConnection) async throws -> MemoryUsage {
        let sessionID: String = try row["session_id"]
        let memoryID: String = try row["memory_id"]
        let versions = try await db.column(
            String.self, "SELECT version_id FROM memory_read_versions WHERE memory_id = ? AND session_id = ? ORDER BY first_read_at, version_id",
            [memoryID, sessionID])
        var status = SessionStatus.idle
        var outcomes: [OutcomeEvaluation] = []
        if let stateText = try await db.scalar(String.self, "SELECT state FROM sessions WHERE id = ?", [sessionID]) {
            let state = try decode(SessionState.self, stateText)
            status = state.status
            outcomes = state.outcomeEvaluations
        }
        var stopReason: JSONValue?
        if let body = try await db.scalar(
            String.self, "SELECT body FROM events WHERE session_id = ? AND type = ANY(?) ORDER BY seq DESC LIMIT 1",
            [sessionID, [EventType.sessionStatusIdle.rawValue, EventType.sessionStatusTerminated.rawValue]])
        {
            stopReason = try SessionEvent(json: body).fields["stop_reason"]
        }
        return MemoryUsage(
            sessionID: sessionID, memoryID: memoryID, storeID: try row["store_id"], versionIDs: versions, readCount: try row["read_count"],
            firstReadAt: Timestamp.fromMicros(try row["first_read_at"]), lastReadAt: Timestamp.fromMicros(try row["last_read_at"]),
            sessionStatus: status, stopReason: stopReason, outcomeEvaluations: outcomes)
    }
}
