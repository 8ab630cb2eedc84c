import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReverieCore
import ReverieRuntime

/// `/v1/skills`: custom skills and their versions as `client.beta.skills` and `.versions` read
/// them. Skills are uploaded as multipart `files` parts whose file names are their paths
/// (`my-skill/SKILL.md`, `my-skill/scripts/run.py`); a version downloads as a tar archive.
struct SkillRoutes {
    let skills: SkillService
    let files: FileService

    func register(on router: Router<ReverieRequestContext>) {
        let group = router.group("v1/skills")
        group.post { request, context in
            let upload = try await receive(request)
            defer { upload.remove() }
            let displayName = upload.text("display_name")?.trimmingCharacters(in: .whitespacesAndNewlines)
            return try JSONResponse.encode(try await skills.create(displayName: displayName, uploads: Self.uploads(upload)))
        }
        group.get { request, context in
            let query = request.query
            return try JSONResponse.page(try await skills.list(source: query.string("source"), page: try query.page(maxLimit: 1000)))
        }
        group.get(":skill_id") { _, context in
            try JSONResponse.encode(try await skills.skill(id: try context.pathParameter("skill_id")))
        }
        group.delete(":skill_id") { _, context in
            let id = try context.pathParameter("skill_id")
            try await skills.delete(id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "skill_deleted"])
        }
        group.post(":skill_id/versions") { request, context in
            let upload = try await receive(request)
            defer { upload.remove() }
            return try JSONResponse.encode(
                try await skills.createVersion(skillID: try context.pathParameter("skill_id"), uploads: Self.uploads(upload)))
        }
        group.get(":skill_id/versions") { request, context in
            try JSONResponse.page(
                try await skills.versions(skillID: try context.pathParameter("skill_id"), page: try request.query.page(maxLimit: 1000)))
        }
        group.get(":skill_id/versions/:version") { _, context in
            try JSONResponse.encode(
                try await skills.version(skillID: try context.pathParameter("skill_id"), version: try context.pathParameter("version")))
        }
        group.delete(":skill_id/versions/:version") { _, context in
            let version = try context.pathParameter("version")
            try await skills.deleteVersion(skillID: try context.pathParameter("skill_id"), version: version)
            return try JSONResponse.encode(["id": JSONValue.string(version), "type": "skill_version_deleted"])
        }
        group.get(":skill_id/versions/:version/content") { _, context in
            let (version, tar) = try await skills.archive(skillID: try context.pathParameter("skill_id"), version: try context.pathParameter("version"))
            var headers: HTTPFields = [.contentType: "application/x-tar", .contentLength: "\(tar.count)"]
            headers[.contentDisposition] = "attachment; filename=\"\(version.name).tar\""
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: tar)))
        }
    }

    private func receive(_ request: Request) async throws -> UploadedForm {
        try await UploadedForm.receive(request, limit: files.maxUploadBytes + 64 * 1024, directory: files.blobs.root)
    }

    /// The `files` parts, each with its path (the part's file name).
    static func uploads(_ upload: UploadedForm) throws -> [SkillService.Upload] {
        try upload.form.parts("files").map { part in
            guard let path = part.filename, !path.isEmpty else { throw APIError.invalidRequest("files: each file needs a file name (its path in the skill)") }
            return SkillService.Upload(path: path, content: upload.body[part.content])
        }
    }
}
