/// A change to one memory: new content, a new path (a rename), a new pin state, and the
/// `content_sha256` the memory must still have for the change to apply.
public struct MemoryChange: Sendable, Equatable {
    public var content: String?
    public var path: String?
    public var pinned: Bool?
    public var expectedSHA256: String?

    public init(content: String? = nil, path: String? = nil, pinned: Bool? = nil, expectedSHA256: String? = nil) {
        self.content = content
        self.path = path
        self.pinned = pinned
        self.expectedSHA256 = expectedSHA256
    }

    /// Whether the change touches what versions record (content or path).
    public func changesContentOrPath(of memory: Memory) -> Bool {
        (content.map { !$0.utf8.elementsEqual(memory.content?.utf8 ?? "".utf8) } ?? false) || (path.map { $0 != memory.path } ?? false)
    }

    /// Checks the precondition against `memory`'s current content.
    public func checkPrecondition(_ memory: Memory) throws(APIError) {
        if let expectedSHA256, expectedSHA256 != memory.contentSHA256 {
            throw APIError(
                .memoryPreconditionFailed,
                "precondition: content_sha256 \(expectedSHA256) does not match the memory's current content_sha256 \(memory.contentSHA256)")
        }
    }
}

/// A parsed `POST /v1/memory_stores/{id}/memories` body.
public struct MemoryCreateRequest: Sendable, Equatable {
    public var path: String
    public var content: String
    public var pinned: Bool

    public init(_ reader: ObjectReader) throws(APIError) {
        try reader.rejectUnknown(["path", "content", "pinned"])
        path = try reader.requiredString("path")
        try MemoryPath.validate(path, field: reader.field("path"))
        guard reader.contains("content") else { throw APIError.invalidRequest("content: required (pass \"\" for an empty memory)") }
        content = try reader.string("content") ?? ""
        try MemoryPath.validateContent(content, field: reader.field("content"))
        pinned = try reader.bool("pinned") ?? false
    }
}

/// A parsed `POST /v1/memory_stores/{id}/memories/{memory_id}` body.
public struct MemoryUpdateRequest: Sendable, Equatable {
    public var change: MemoryChange

    public init(_ reader: ObjectReader) throws(APIError) {
        try reader.rejectUnknown(["path", "content", "precondition", "pinned"])
        var change = MemoryChange()
        if let path = try reader.string("path") {
            try MemoryPath.validate(path, field: reader.field("path"))
            change.path = path
        }
        if let content = try reader.string("content") {
            try MemoryPath.validateContent(content, field: reader.field("content"))
            change.content = content
        }
        change.pinned = try reader.bool("pinned")
        if let precondition = try reader.object("precondition") {
            try precondition.rejectUnknown(["type", "content_sha256"])
            let type = try precondition.discriminator()
            guard type == "content_sha256" else {
                throw APIError.invalidRequest("\(precondition.field("type")): must be 'content_sha256' (got '\(type)')")
            }
            let expected = try precondition.requiredString("content_sha256")
            try MemoryPath.validateSHA256(expected, field: precondition.field("content_sha256"))
            change.expectedSHA256 = expected
        }
        self.change = change
    }
}
