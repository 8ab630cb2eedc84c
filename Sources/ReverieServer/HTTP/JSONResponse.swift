import Foundation
import Hummingbird
import NIOCore
import ReverieCore

/// Builds JSON responses. List pages are assembled from already-serialized items, so
/// stored event JSON goes to the client without being decoded and re-encoded.
enum JSONResponse {
    static func make(status: HTTPResponse.Status = .ok, json: String) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(json)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    static func encode<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        make(status: status, json: try JSONCoding.string(value))
    }

    /// `{"data": [...], "next_page": …}` (plus `prev_page` when `previous` is set).
    static func page(_ items: [String], next: Cursor?, previous: Cursor?? = nil) -> Response {
        var json = "{\"data\":["
        json.reserveCapacity(items.reduce(64) { $0 + $1.utf8.count + 1 })
        for (index, item) in items.enumerated() {
            if index > 0 { json += "," }
            json += item
        }
        json += "],\"next_page\":" + token(next)
        if let previous { json += ",\"prev_page\":" + token(previous) }
        json += "}"
        return make(json: json)
    }

    static func page<T: Encodable & Sendable>(_ page: Page<T>, includePrevious: Bool = false) throws -> Response {
        let encoder = JSONCoding.encoder()
        let items = try page.items.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        return self.page(items, next: page.next, previous: includePrevious ? .some(page.previous) : nil)
    }

    private static func token(_ cursor: Cursor?) -> String {
        cursor.map { "\"\($0.token)\"" } ?? "null"
    }
}
