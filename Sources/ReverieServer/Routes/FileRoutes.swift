import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReverieCore
import ReverieRuntime

/// `/v1/files`: the Files API as `client.beta.files` reads it. Uploads are
/// `multipart/form-data` with a `file` part, streamed to disk (not held in memory) and
/// refused with 413 past `ServerConfiguration.maxUploadBytes`.
struct FileRoutes {
    let files: FileService

    func register(on router: Router<ReverieRequestContext>) {
        let group = router.group("v1/files")
        group.post { request, context in
            let upload = try await UploadedForm.receive(request, limit: files.maxUploadBytes + 64 * 1024, directory: files.blobs.root)
            defer { upload.remove() }
            guard let part = upload.form.part("file") else { throw APIError.invalidRequest("file: required (a multipart part named 'file')") }
            var expires: Int?
            if let text = upload.text("expires_in_seconds")?.trimmingCharacters(in: .whitespacesAndNewlines) {
                guard let seconds = Int(text) else { throw APIError.invalidRequest("expires_in_seconds: expected an integer, got '\(text)'") }
                expires = seconds
            }
            let file = try await files.upload(
                filename: part.filename, mimeType: part.contentType, content: upload.body[part.content], expiresInSeconds: expires)
            return try JSONResponse.encode(file)
        }
        group.get { request, context in
            let query = request.query
            let ids = query.list("ids")
            if !ids.isEmpty, query.string("page") != nil || query.string("limit") != nil {
                throw APIError.invalidRequest("ids: cannot be combined with page or limit")
            }
            let scope = query.string("scope_id").flatMap { $0.isEmpty ? nil : $0 }
            return try JSONResponse.page(
                try await files.list(ids: ids.isEmpty ? nil : ids, scopeSessionID: scope, page: try query.page(maxLimit: 1000)))
        }
        group.get(":file_id") { _, context in
            try JSONResponse.encode(try await files.file(id: try context.pathParameter("file_id")))
        }
        group.get(":file_id/content") { _, context in
            let (file, url) = try await files.content(id: try context.pathParameter("file_id"))
            guard let handle = try? FileHandle(forReadingFrom: url) else {
                throw APIError.internalError("the content of file '\(file.id)' is missing")
            }
            var headers: HTTPFields = [.contentType: file.mimeType, .contentLength: "\(file.sizeBytes)"]
            headers[.contentDisposition] = "attachment; filename=\"\(Self.headerSafe(file.filename))\""
            return Response(status: .ok, headers: headers, body: ResponseBody { writer in
                defer { try? handle.close() }
                while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
                    try await writer.write(ByteBuffer(bytes: chunk))
                }
                try await writer.finish(nil)
            })
        }
        group.delete(":file_id") { _, context in
            let id = try context.pathParameter("file_id")
            try await files.delete(id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "file_deleted"])
        }
    }

    /// A file name fit for a quoted header parameter.
    static func headerSafe(_ name: String) -> String {
        String(name.unicodeScalars.filter { $0.isASCII && $0.value >= 0x20 && $0 != "\"" && $0 != "\\" }.map(Character.init))
    }
}
