import ReverieCore

/// The Files API's metadata (the bytes are kept apart, by content hash).
public protocol FileStore: Sendable {
    func createFile(_ file: StoredFile) async throws
    func file(id: String) async throws -> StoredFile?
    /// Files, newest first; `scopeSessionID` keeps a session's outputs only.
    func listFiles(scopeSessionID: String?, page: PageRequest) async throws -> Page<StoredFile>
    /// The files of these ids that exist (in no particular order).
    func files(ids: [String]) async throws -> [StoredFile]
    /// A session output's file by its path under `/mnt/session/outputs`, the newest when it
    /// was written more than once.
    func outputFile(sessionID: String, path: String) async throws -> StoredFile?
    /// Deletes a file's metadata; returns it, and whether another file still has the same bytes.
    func deleteFile(id: String) async throws -> (file: StoredFile, contentStillUsed: Bool)?
}
