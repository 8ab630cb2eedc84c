import Foundation
import ReverieCore

/// Memory stores, their memories, the immutable history of every change, and the record
/// of which sessions read which memory versions.
///
/// Every write checks its preconditions and writes the memory and its new version in one
/// transaction, so of two racing conditional writers exactly one wins.
public protocol MemoryRepository: Sendable {
    // MARK: stores

    /// Inserts a store (and its `memory_store.created` outbox event).
    func createMemoryStore(_ store: MemoryStore) async throws
    func memoryStore(id: String) async throws -> MemoryStore?
    /// Atomic read-modify-write; throws `APIError.notFound` when missing. Archiving emits
    /// `memory_store.archived`.
    func updateMemoryStore(id: String, _ change: @Sendable (MemoryStore) throws -> MemoryStore) async throws -> MemoryStore
    /// Stores, newest first.
    func listMemoryStores(_ filter: MemoryStoreFilter, page: PageRequest) async throws -> Page<MemoryStore>
    /// Deletes a store with its memories, versions and read records (and emits `memory_store.deleted`).
    func deleteMemoryStore(id: String) async throws

    // MARK: memories

    /// Creates a memory at `path` with its `created` version. Fails with
    /// `memory_path_conflict_error` when the path is taken (or would make a file a folder).
    func createMemory(storeID: String, path: String, content: String, pinned: Bool, actor: MemoryActor, at date: Date)
        async throws -> Memory
    /// Applies `change` to a memory, writing a `modified` version when content or path change.
    /// Checks the precondition and, for dreams, the pin, inside the transaction.
    func updateMemory(storeID: String, id: String, _ change: MemoryChange, actor: MemoryActor, at date: Date) async throws -> Memory
    /// Creates the memory at `path`, or changes the content of the one there (create-or-update).
    func putMemory(storeID: String, path: String, content: String, expectedSHA256: String?, actor: MemoryActor, at date: Date)
        async throws -> Memory
    /// Deletes a memory, writing its `deleted` version; `expectedSHA256` must match when given.
    func deleteMemory(storeID: String, id: String, expectedSHA256: String?, actor: MemoryActor, at date: Date) async throws -> Memory
    /// One memory with its content.
    func memory(storeID: String, id: String) async throws -> Memory?
    /// The memory at `path`, with its content.
    func memory(storeID: String, path: String) async throws -> Memory?
    /// A page of memories (and `memory_prefix` items), in UTF-8 byte order of path.
    func listMemories(storeID: String, _ query: MemoryListQuery) async throws -> Page<MemoryListItem>
    /// Every memory under `prefix` (ending in `/`), in path order, with content when `includeContent`.
    func memories(storeID: String, under prefix: String, includeContent: Bool) async throws -> [Memory]

    // MARK: versions

    func memoryVersion(storeID: String, id: String) async throws -> MemoryVersion?
    /// Versions, newest first.
    func listMemoryVersions(storeID: String, _ filter: MemoryVersionFilter, page: PageRequest) async throws -> Page<MemoryVersion>
    /// Clears a version's path and content, recording who redacted it and when. Redacting a
    /// redacted version returns it unchanged. The memory itself is untouched.
    func redactMemoryVersion(storeID: String, id: String, actor: MemoryActor, at date: Date) async throws -> MemoryVersion

    // MARK: usage

    /// Records that `sessionID` read these memory versions at `date`.
    func recordMemoryReads(sessionID: String, _ reads: [MemoryRead], at date: Date) async throws
    /// The sessions that read a memory, with how each ended; newest first by first read.
    func memoryUsage(storeID: String, memoryID: String, page: PageRequest) async throws -> Page<MemoryUsage>
    /// The memory versions a session read (for dreams reading a session).
    func memoryReads(sessionID: String) async throws -> [MemoryRead]
}
