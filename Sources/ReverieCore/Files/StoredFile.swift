import Foundation

/// A file of the Files API: its metadata; the bytes are kept once per content hash
/// (`FileBlobs`). Files an agent writes under `/mnt/session/outputs` are files too, scoped to
/// their session.
public struct StoredFile: Sendable, Equatable {
    public var id: String
    /// The name it was uploaded with (its last path component), or the output's path under
    /// `/mnt/session/outputs`.
    public var filename: String
    public var mimeType: String
    public var sizeBytes: Int64
    /// Hex SHA-256 of the bytes: where they are kept.
    public var sha256: String
    public var createdAt: Date
    public var downloadable: Bool
    /// The session a file belongs to (a session's output), nil for uploads.
    public var scopeSessionID: String?
    /// For a session output: its path under `/mnt/session/outputs`.
    public var sourcePath: String?
    public var expiresAt: Date?

    public init(
        id: String, filename: String, mimeType: String, sizeBytes: Int64, sha256: String, createdAt: Date, downloadable: Bool,
        scopeSessionID: String? = nil, sourcePath: String? = nil, expiresAt: Date? = nil
    ) {
        self.id = id
        self.filename = filename
        self.mimeType = mimeType
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
        self.createdAt = createdAt
        self.downloadable = downloadable
        self.scopeSessionID = scopeSessionID
        self.sourcePath = sourcePath
        self.expiresAt = expiresAt
    }

    /// Whether the file has expired (its bytes are no longer served).
    public func isExpired(at now: Date) -> Bool { expiresAt.map { $0 <= now } ?? false }
}

extension StoredFile: Encodable {
    enum CodingKeys: String, CodingKey {
        case id, type, filename, downloadable, scope
        case mimeType = "mime_type"
        case sizeBytes = "size_bytes"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
    }

    /// As `BetaFileMetadata`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("file", forKey: .type)
        try container.encode(filename, forKey: .filename)
        try container.encode(mimeType, forKey: .mimeType)
        try container.encode(sizeBytes, forKey: .sizeBytes)
        try container.encode(Timestamp.format(createdAt), forKey: .createdAt)
        try container.encode(downloadable, forKey: .downloadable)
        try container.encode(expiresAt.map(Timestamp.format), forKey: .expiresAt)
        if let scopeSessionID {
            try container.encode(["type": "session", "id": scopeSessionID], forKey: .scope)
        } else {
            try container.encodeNil(forKey: .scope)
        }
    }
}

extension StoredFile {
    /// The MIME type of a file name's extension (`application/octet-stream` when unknown).
    public static func mimeType(forFilename name: String) -> String {
        let ext = (name as NSString).pathExtension.lowercased()
        return knownTypes[ext] ?? "application/octet-stream"
    }

    static let knownTypes: [String: String] = [
        "txt": "text/plain", "md": "text/markdown", "csv": "text/csv", "tsv": "text/tab-separated-values", "json": "application/json",
        "html": "text/html", "htm": "text/html", "xml": "application/xml", "yaml": "application/yaml", "yml": "application/yaml",
        "pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "svg": "image/svg+xml", "zip": "application/zip", "gz": "application/gzip", "tar": "application/x-tar", "py": "text/x-python",
        "js": "text/javascript", "swift": "text/x-swift", "sh": "application/x-sh", "log": "text/plain",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ]
}
