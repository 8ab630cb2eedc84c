import Foundation
import ReverieCore
import ReverieStore

/// `/v1/skills`: custom skills and their versions, as `client.beta.skills` reads them; the
/// skills an agent names, checked and resolved for its sessions.
public struct SkillService: Sendable {
    let store: any Store
    let files: FileService

    /// Skills Anthropic publishes (`{"type": "anthropic"}`); Reverie bundles none.
    public static let bundledAnthropicSkills: Set<String> = []

    public init(store: any Store, files: FileService) {
        self.store = store
        self.files = files
    }

    /// One uploaded file of a skill: the path it was sent with, and its bytes.
    public struct Upload: Sendable {
        public var path: String
        public var content: Data

        public init(path: String, content: Data) {
            self.path = path
            self.content = content
        }
    }

    /// `POST /v1/skills`.
    public func create(displayName: String?, uploads: [Upload]) async throws -> Skill {
        let now = Timestamp.now()
        let id = ResourceID.make(ResourceID.skill, at: now)
        let version = try version(of: id, uploads: uploads, at: now, requiredName: nil)
        if let displayName { try Rules.length(displayName, FieldPath("display_name"), max: 255) }
        let title = displayName.flatMap { $0.isEmpty ? nil : $0 } ?? version.name
        guard !title.contains("\n") else { throw APIError.invalidRequest("display_name: must be a single line") }
        let skill = Skill(id: id, displayName: title, latestVersionID: version.id, createdAt: now, updatedAt: now)
        try await store.createSkill(skill, version: version)
        return skill
    }

    /// `POST /v1/skills/{id}/versions`: the name in `SKILL.md` must stay the skill's.
    public func createVersion(skillID: String, uploads: [Upload]) async throws -> SkillVersion {
        let skill = try await skill(id: skillID)
        guard let latest = try await store.skillVersion(skillID: skillID, id: skill.latestVersionID) else {
            throw APIError.internalError("skill '\(skillID)' has lost its latest version")
        }
        let version = try version(of: skillID, uploads: uploads, at: Timestamp.now(), requiredName: latest.name)
        guard try await store.addSkillVersion(version) != nil else { throw APIError.notFound("skill", skillID) }
        return version
    }

    public func skill(id: String) async throws -> Skill {
        guard let skill = try await store.skill(id: id) else { throw APIError.notFound("skill", id) }
        return skill
    }

    /// `GET /v1/skills`: `source` `anthropic` lists nothing (none are bundled).
    public func list(source: String?, page: PageRequest) async throws -> Page<Skill> {
        switch source {
        case nil, "", "custom": return try await store.listSkills(page: page)
        case "anthropic": return Page(items: [], next: nil)
        case let other?: throw APIError.invalidRequest("source: must be 'custom' or 'anthropic' (got '\(other)')")
        }
    }

    public func delete(id: String) async throws {
        guard try await store.deleteSkill(id: id) else { throw APIError.notFound("skill", id) }
    }

    /// A version by id, or the latest for `latest`.
    public func version(skillID: String, version: String) async throws -> SkillVersion {
        let skill = try await skill(id: skillID)
        let id = version == "latest" ? skill.latestVersionID : version
        guard let found = try await store.skillVersion(skillID: skillID, id: id) else { throw APIError.notFound("skill version", version) }
        return found
    }

    public func versions(skillID: String, page: PageRequest) async throws -> Page<SkillVersion> {
        _ = try await skill(id: skillID)
        return try await store.listSkillVersions(skillID: skillID, page: page)
    }

    public func deleteVersion(skillID: String, version: String) async throws {
        _ = try await skill(id: skillID)
        guard try await store.deleteSkillVersion(skillID: skillID, id: version) else { throw APIError.notFound("skill version", version) }
    }

    /// `GET /v1/skills/{id}/versions/{version}/content`: the version's files in a tar archive,
    /// under a folder named after the skill.
    public func archive(skillID: String, version: String) async throws -> (version: SkillVersion, tar: Data) {
        let found = try await self.version(skillID: skillID, version: version)
        var tar = TarArchive()
        for file in found.files {
            let content = try Data(contentsOf: files.blobs.url(sha256: file.sha256))
            try tar.add(path: "\(found.name)/\(file.path)", content: content, modified: found.createdAt)
        }
        return (found, tar.bytes)
    }

    /// A version from uploaded files (or from one zip archive of them): every path under one
    /// top-level folder (or none) holding `SKILL.md`, whose frontmatter gives the name (else the folder's) and the description.
    func version(of skillID: String, uploads: [Upload], at now: Date, requiredName: String?) throws -> SkillVersion {
        var uploads = uploads
        // One zip archive holds the skill's folder.
        if uploads.count == 1, let only = uploads.first, SkillArchive.isZip(only) {
            uploads = try SkillArchive.uploads(from: only.content, limit: files.maxUploadBytes)
        }
        guard !uploads.isEmpty else { throw APIError.invalidRequest("files: at least one file, including SKILL.md, is required") }
        var paths: [(parts: [Substring], content: Data)] = []
        for upload in uploads {
            let parts = upload.path.replacingOccurrences(of: "\\", with: "/").split(separator: "/").filter { $0 != "." }
            guard !parts.isEmpty, !upload.path.hasPrefix("/"), !parts.contains(".."), !upload.path.utf8.contains(0) else {
                throw APIError.invalidRequest("files: '\(upload.path)' is not a relative path inside the skill's folder")
            }
            paths.append((parts, upload.content))
        }
        let tops = Set(paths.map { $0.parts.count > 1 ? String($0.parts[0]) : "" })
        guard tops.count == 1, let top = tops.first else {
            throw APIError.invalidRequest("files: every file must be in the same top-level folder (found \(tops.sorted().map { $0.isEmpty ? "(none)" : $0 }.joined(separator: ", ")))")
        }
        let relative: [(path: String, content: Data)] = paths.map { entry in
            (path: (top.isEmpty ? entry.parts[...] : entry.parts.dropFirst()).joined(separator: "/"), content: entry.content)
        }
        guard Set(relative.map(\.path)).count == relative.count else { throw APIError.invalidRequest("files: a path is given twice") }
        guard let manifestFile = relative.first(where: { $0.path == "SKILL.md" }) else {
            throw APIError.invalidRequest("files: SKILL.md is required at the root of the skill's folder")
        }
        let manifest = SkillManifest(markdown: String(decoding: manifestFile.content, as: UTF8.self))
        guard let name = manifest.name.flatMap({ $0.isEmpty ? nil : $0 }) ?? (top.isEmpty ? nil : top), SkillManifest.isValidName(name) else {
            throw APIError.invalidRequest(
                "SKILL.md: the frontmatter `name` (or the folder's name) must be lowercase letters, digits and hyphens, at most \(SkillManifest.maxNameLength) characters")
        }
        if let requiredName, name != requiredName {
            throw APIError.invalidRequest("SKILL.md: name '\(name)' differs from the skill's name '\(requiredName)'")
        }
        guard let description = manifest.description, !description.isEmpty, description.count <= SkillManifest.maxDescriptionLength else {
            throw APIError.invalidRequest("SKILL.md: the frontmatter needs a `description` of 1 to \(SkillManifest.maxDescriptionLength) characters")
        }
        let total = relative.reduce(0) { $0 + $1.content.count }
        guard total <= files.maxUploadBytes else {
            throw APIError(.requestTooLarge, "the skill's files take \(total) bytes; at most \(files.maxUploadBytes) are accepted")
        }
        var stored: [SkillVersion.File] = []
        for file in relative.sorted(by: { $0.path < $1.path }) {
            let hash = try files.blobs.store(file.content)
            stored.append(SkillVersion.File(path: file.path, sha256: hash, sizeBytes: Int64(file.content.count)))
        }
        return SkillVersion(id: "\(Timestamp.micros(now))", skillID: skillID, name: name, description: description, files: stored, createdAt: now)
    }
}
