import Foundation
import Hummingbird
import ReverieCore

/// A `multipart/form-data` upload received to a temporary file (never held in memory) and
/// read from it mapped; `remove()` deletes the file.
struct UploadedForm {
    let body: Data
    let form: MultipartForm
    let spool: URL

    /// Receives the request's body into `directory/incoming/`, refusing more than `limit` bytes with 413.
    static func receive(_ request: Request, limit: Int, directory: URL) async throws -> UploadedForm {
        let boundary = try MultipartForm.boundary(contentType: request.headers[.contentType])
        let folder = directory.appendingPathComponent("incoming")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let url = folder.appendingPathComponent(UUID().uuidString)
        guard FileManager.default.createFile(atPath: url.path, contents: nil), let handle = try? FileHandle(forWritingTo: url) else {
            throw APIError.internalError("cannot receive the upload")
        }
        do {
            var received = 0
            for try await buffer in request.body {
                received += buffer.readableBytes
                guard received <= limit else {
                    throw APIError(.requestTooLarge, "the upload is larger than the \(limit) bytes this server accepts")
                }
                try handle.write(contentsOf: Data(buffer.readableBytesView))
            }
            try handle.close()
            let body = try Data(contentsOf: url, options: .alwaysMapped)
            return UploadedForm(body: body, form: try MultipartForm(body, boundary: boundary), spool: url)
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: url)
            throw error
        }
    }

    /// A text field's value.
    func text(_ name: String) -> String? {
        form.part(name).map { String(decoding: body[$0.content], as: UTF8.self) }
    }

    func remove() {
        try? FileManager.default.removeItem(at: spool)
    }
}
