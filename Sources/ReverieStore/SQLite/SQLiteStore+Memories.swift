import Foundation
import GRDB
import ReverieCore

extension SQLiteStore {
    public func createMemory(storeID: String, path: String, content: String, pinned: Bool, actor: MemoryActor, at date: Date)
        async throws -> Memory
    {
        try await write { db in
            _ = try Self.requireMemoryStore(id: storeID, writable: true, db)
            return try Self.insertMemory(storeID: storeID, path: path, content: content, pinned: pinned, actor: actor, at: date, db)
        }
    }

    public func updateMemory(storeID: String, id: String, _ change: MemoryChange, actor: MemoryActor, at date: Date) async throws -> Memory {
        try await write { db in
            _ = try Self.requireMemoryStore(id: storeID, writable: true, db)
            guard let current = try Self.fetchMemory(storeID: storeID, column: "id", value: id, db) else {
                throw APIError.notFound("memory", id)
            }
            return try Self.applyChange(change, to: current, actor: actor, at: date, db)
        }
    }

    public func putMemory(storeID: String, path: String, content: String, expectedSHA256: String?, actor: MemoryActor, at date: Date)
        async throws -> Memory
    {
        try await write { db in
            _ = try Self.requireMemoryStore(id: storeID, writable: true, db)
            if let current = try Self.fetchMemory(storeID: storeID, column: "path", value: path, db) {
                return try Self.applyChange(MemoryChange(content: content, expectedSHA256: expectedSHA256), to: current, actor: actor, at: date, db)
            }
            if expectedSHA256 != nil {
                throw APIError(.memoryPreconditionFailed, "precondition: there is no memory at '\(path)' to match content_sha256")
            }
            return try Self.insertMemory(storeID: storeID, path: path, content: content, pinned: false, actor: actor, at: date, db)
        }
    }

    public func deleteMemory(storeID: String, id: String, expectedSHA256: String?, actor: MemoryActor, at date: Date) async throws -> Memory {
        try await write { db in
            _ = try Self.requireMemoryStore(id: storeID, writable: false, db)
            guard let current = try Self.fetchMemory(storeID: storeID, column: "id", value: id, db) else {
                throw APIError.notFound("memory", id)
            }
            try current.checkChangeable(by: actor)
            if let expectedSHA256, expectedSHA256 != current.contentSHA256 {
                throw APIError(
                    .memoryPreconditionFailed,
                    "expected_content_sha256: \(expectedSHA256) does not match the memory's current content_sha256 \(current.contentSHA256)")
            }
            let version = MemoryVersion(id: ResourceID.make(ResourceID.memoryVersion, at: date), recording: current, operation: .deleted, by: actor, at: date)
            try Self.insertVersion(version, db)
            try db.execute(sql: "DELETE FROM memories WHERE id = ?", arguments: [id])
            return current
        }
    }

    public func memory(storeID: String, id: String) async throws -> Memory? {
        try await read { db in try Self.fetchMemory(storeID: storeID, column: "id", value: id, db) }
    }

    public func memory(storeID: String, path: String) async throws -> Memory? {
        try await read { db in try Self.fetchMemory(storeID: storeID, column: "path", value: path, db) }
    }

    public func listMemories(storeID: String, _ query: MemoryListQuery) async throws -> Page<MemoryListItem> {
        try await read { db in
            _ = try Self.requireMemoryStore(id: storeID, writable: false, db)
            let columns = query.view == .full ? Self.memoryColumns : Self.memoryColumnsWithoutContent
            let end = MemoryPath.rangeEnd(ofPrefix: query.pathPrefix)
            let baseDepth = MemoryPath.segments(query.pathPrefix).filter { !$0.isEmpty }.count
            // The lower bound of the paths still to read.
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
            // Rows are stepped lazily: a folder deeper than `depth` is listed once and the scan
            // restarts past it, so only one row of each such folder is ever read.
            scan: while items.count <= query.limit {
                let statement = try db.cachedStatement(sql: """
                    SELECT \(columns) FROM memories WHERE store_id = ? AND path \(inclusive ? ">=" : ">") ? AND path < ?
                    ORDER BY path
                    """)
                let rows = try Row.fetchCursor(statement, arguments: [storeID, lower, end])
                while let row = try rows.next() {
                    let memory = Self.memory(row)
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
                break
            }
            let hasMore = items.count > query.limit
            if hasMore { items.removeLast(items.count - query.limit) }
            let next = hasMore ? items.last.map { MemoryListPosition(after: $0).cursor } : nil
            return Page(items: items, next: next)
        }
    }

    public func memories(storeID: String, under prefix: String, includeContent: Bool) async throws -> [Memory] {
        try await read { db in
            _ = try Self.requireMemoryStore(id: storeID, writable: false, db)
            let columns = includeContent ? Self.memoryColumns : Self.memoryColumnsWithoutContent
            return try Row.fetchAll(
                db, sql: "SELECT \(columns) FROM memories WHERE store_id = ? AND path >= ? AND path < ? ORDER BY path",
                arguments: [storeID, prefix, MemoryPath.rangeEnd(ofPrefix: prefix)]
            ).map(Self.memory)
        }
    }

    // MARK: inside a transaction

    static let memoryColumnsWithoutContent =
        "id, store_id, path, content_sha256, content_size_bytes, version_id, pinned, created_at, updated_at"
    static let memoryColumns = memoryColumnsWithoutContent + ", content"

    static func memory(_ row: Row) -> Memory {
        Memory(
            id: row["id"], storeID: row["store_id"], path: row["path"], content: row.hasColumn("content") ? row["content"] : nil,
            contentSHA256: row["content_sha256"], contentSizeBytes: row["content_size_bytes"], versionID: row["version_id"],
            pinned: row["pinned"], createdAt: Timestamp.fromMicros(row["created_at"]), updatedAt: Timestamp.fromMicros(row["updated_at"]))
    }

    static func fetchMemory(storeID: String, column: String, value: String, _ db: Database) throws -> Memory? {
        try Row.fetchOne(
            db, sql: "SELECT \(memoryColumns) FROM memories WHERE store_id = ? AND \(column) = ?", arguments: [storeID, value]
        ).map(memory)
    }

    /// Refuses `path` when it is taken, when one of its ancestors is a memory (a file can't be
    /// a folder), or when memories live below it (a folder can't be a file). `ignoring` is the
    /// memory being renamed.
    static func checkPathFree(storeID: String, path: String, ignoring memoryID: String?, _ db: Database) throws {
        let other = memoryID ?? ""
        if try Bool.fetchOne(db, sql: "SELECT 1 FROM memories WHERE store_id = ? AND path = ? AND id != ?", arguments: [storeID, path, other])
            != nil
        {
            throw APIError(.memoryPathConflict, "path: a memory already exists at '\(path)'")
        }
        let segments = MemoryPath.segments(path)
        if segments.count > 1 {
            let ancestors = (1..<segments.count).map { "/" + segments[0..<$0].joined(separator: "/") }
            let placeholders = ancestors.map { _ in "?" }.joined(separator: ",")
            var arguments: StatementArguments = [storeID, other]
            for ancestor in ancestors { arguments += [ancestor] }
            if let file = try String.fetchOne(
                db, sql: "SELECT path FROM memories WHERE store_id = ? AND id != ? AND path IN (\(placeholders)) LIMIT 1", arguments: arguments)
            {
                throw APIError(.memoryPathConflict, "path: '\(file)' is a memory, so '\(path)' can't be created below it")
            }
        }
        let folder = path + "/"
        if try Bool.fetchOne(
            db, sql: "SELECT 1 FROM memories WHERE store_id = ? AND id != ? AND path >= ? AND path < ? LIMIT 1",
            arguments: [storeID, other, folder, MemoryPath.rangeEnd(ofPrefix: folder)]) != nil
        {
            throw APIError(.memoryPathConflict, "path: '\(path)' is a folder of other memories")
        }
    }

    static func insertMemory(storeID: String, path: String, content: String, pinned: Bool, actor: MemoryActor, at date: Date, _ db: Database)
        throws -> Memory
    {
        try checkPathFree(storeID: storeID, path: path, ignoring: nil, db)
        let memory = Memory(
            id: ResourceID.make(ResourceID.memory, at: date), storeID: storeID, path: path, content: content,
            contentSHA256: MemoryPath.sha256(content), contentSizeBytes: content.utf8.count,
            versionID: ResourceID.make(ResourceID.memoryVersion, at: date), pinned: pinned, createdAt: date, updatedAt: date)
        try db.execute(
            sql: """
                INSERT INTO memories (id, store_id, path, content, content_sha256, content_size_bytes, version_id, pinned, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                memory.id, storeID, path, content, memory.contentSHA256, memory.contentSizeBytes, memory.versionID, pinned,
                Timestamp.micros(date), Timestamp.micros(date),
            ])
        try insertVersion(MemoryVersion(id: memory.versionID, recording: memory, operation: .created, by: actor, at: date), db)
        return memory
    }

    static func applyChange(_ change: MemoryChange, to current: Memory, actor: MemoryActor, at date: Date, _ db: Database) throws -> Memory {
        try current.checkChangeable(by: actor)
        if actor.isDream, let pinned = change.pinned, pinned != current.pinned {
            throw APIError.conflict("pinned: dreams can't pin or unpin memories (memory '\(current.path)')")
        }
        try change.checkPrecondition(current)
        var next = current
        if let pinned = change.pinned { next.pinned = pinned }
        if change.changesContentOrPath(of: current) {
            if let path = change.path, path != current.path {
                try checkPathFree(storeID: current.storeID, path: path, ignoring: current.id, db)
                next.path = path
            }
            if let content = change.content {
                next.content = content
                next.contentSHA256 = MemoryPath.sha256(content)
                next.contentSizeBytes = content.utf8.count
            }
            next.versionID = ResourceID.make(ResourceID.memoryVersion, at: date)
            next.updatedAt = date
            try insertVersion(MemoryVersion(id: next.versionID, recording: next, operation: .modified, by: actor, at: date), db)
        }
        guard next != current else { return current }
        try db.execute(
            sql: """
                UPDATE memories SET path = ?, content = ?, content_sha256 = ?, content_size_bytes = ?, version_id = ?, pinned = ?,
                updated_at = ? WHERE id = ?
                """,
            arguments: [
                next.path, next.content ?? "", next.contentSHA256, next.contentSizeBytes, next.versionID, next.pinned,
                Timestamp.micros(next.updatedAt), next.id,
            ])
        return next
    }
}
