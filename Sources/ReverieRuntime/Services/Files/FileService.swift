import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieStore

/// `/v1/files`: uploaded files, and the files agents write under `/mnt/session/outputs`
/// (recorded when a session's turn ends, scoped to the session).
public struct FileService: Sendable {
    let store: any Store
    public let blobs: FileBlobs
    /// The largest upload accepted (bytes).
    public let maxUploadBytes: Int
    /// Where sessions' folders are (their outputs are read from there).
    public let dataDirectory: String
    let logger: Logger

    public static let defaultMaxUploadBytes = 500 * 1024 * 1024

    /// Files of a server whose data directory is `dataDirectory` (bytes in its `files/` folder).
    public init(store: any Store, dataDirectory: String, maxUploadBytes: Int = FileService.defaultMaxUploadBytes, logger: Logger = Logger(label: "reverie.files")) {
        self.store = store
        self.dataDirectory = dataDirectory
        self.blobs = FileBlobs(root: URL(fileURLWithPath: dataDirectory).appendingPathComponent("files"))
        self.maxUploadBytes = maxUploadBytes
        self.logger = logger
    }

    /// `POST /v1/files`: keeps the bytes and records the file. Only the last path component of
    /// `filename` is kept; an empty one becomes `unnamed`.
    public func upload(filename: String?, mimeType: String?, content: some DataProtocol, expiresInSeconds: Int?) async throws -> StoredFile {
        if let expiresInSeconds, !(3600...7_776_000).contains(expiresInSeconds) {
            throw APIError.invalidRequest("expires_in_seconds: must be between 3600 (one hour) and 7776000 (ninety days)")
        }
        guard content.count <= maxUploadBytes else {
            throw APIError(.requestTooLarge, "the file is \(content.count) bytes; this server accepts files of at most \(maxUploadBytes) bytes")
        }
        var name = (filename ?? "").split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        name = String(name.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F })
        if name.isEmpty || name == "." || name == ".." { name = "unnamed" }
        if name.utf8.count > 255 { name = String(name.prefix(255)) }
        let type = mimeType.flatMap { $0.isEmpty || $0 == "application/octet-stream" ? nil : $0 } ?? StoredFile.mimeType(forFilename: name)
        let hash = try blobs.store(content)
        let now = Timestamp.now()
        let file = StoredFile(
            id: ResourceID.make(ResourceID.file, at: now), filename: name, mimeType: type, sizeBytes: Int64(content.count), sha256: hash,
            createdAt: now, downloadable: true, expiresAt: expiresInSeconds.map { now.addingTimeInterval(TimeInterval($0)) })
        try await store.createFile(file)
        return file
    }

    /// `GET /v1/files/{id}`.
    public func file(id: String) async throws -> StoredFile {
        guard let file = try await store.file(id: id) else { throw APIError.notFound("file", id) }
        return file
    }

    /// `GET /v1/files`: newest first; `ids` returns those files (one page), `scopeSessionID` a
    /// session's outputs.
    public func list(ids: [String]?, scopeSessionID: String?, page: PageRequest) async throws -> Page<StoredFile> {
        if let ids {
            let unique = Array(Set(ids))
            guard unique.count <= 100 else { throw APIError.invalidRequest("ids: at most 100 ids (got \(unique.count))") }
            let found = try await store.files(ids: unique).filter { scopeSessionID == nil || $0.scopeSessionID == scopeSessionID }
            return Page(items: found.sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }, next: nil)
        }
        // A session's outputs are recorded when its turn ends; listing them records any newer ones first.
        if let scopeSessionID, try await store.sessionHeader(id: scopeSessionID) != nil { _ = try await recordOutputs(sessionID: scopeSessionID) }
        return try await store.listFiles(scopeSessionID: scopeSessionID, page: page)
    }

    /// `GET /v1/files/{id}/content`: the file and where its bytes are.
    public func content(id: String) async throws -> (file: StoredFile, url: URL) {
        let file = try await file(id: id)
        guard file.downloadable else { throw APIError(.permission, "file '\(id)' is not downloadable") }
        if file.isExpired(at: Date()) { throw APIError.notFound("file", id) }
        return (file, blobs.url(sha256: file.sha256))
    }

    /// `DELETE /v1/files/{id}`: the bytes go when no other file has the same content. Sessions
    /// that mount the file no longer see it from their next turn.
    public func delete(id: String) async throws {
        guard let (file, stillUsed) = try await store.deleteFile(id: id) else { throw APIError.notFound("file", id) }
        if !stillUsed { blobs.remove(sha256: file.sha256) }
    }

    /// Records the files under a session's `/mnt/session/outputs` that are new or changed since
    /// they were last recorded. The agent can change the folder while it is read, so nothing
    /// there is followed through a link (`ContainedFolder`); links and special files are skipped.
    @discardableResult
    public func recordOutputs(sessionID: String) async throws -> [StoredFile] {
        let folder = ContainedFolder(root: Sandbox.sessionFolder(dataDirectory: dataDirectory, sessionID: sessionID).appendingPathComponent("outputs"))
        var recorded: [StoredFile] = []
        for path in folder.regularFiles() {
            guard let data = folder.read(path, limit: maxUploadBytes) else { continue }
            let hash = FileBlobs.sha256(data)
            if let existing = try await store.outputFile(sessionID: sessionID, path: path), existing.sha256 == hash { continue }
            try blobs.store(data)
            let now = Timestamp.now()
            let file = StoredFile(
                id: ResourceID.make(ResourceID.file, at: now), filename: path, mimeType: StoredFile.mimeType(forFilename: path), sizeBytes: Int64(data.count),
                sha256: hash, createdAt: now, downloadable: true, scopeSessionID: sessionID, sourcePath: path)
            try await store.createFile(file)
            recorded.append(file)
        }
        return recorded
    }
}
