import Hummingbird
import NIOCore

/// Plain-text responses (Reverie extensions that serve documents for people).
enum TextResponse {
    /// A Markdown document, UTF-8.
    static func markdown(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/markdown; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
