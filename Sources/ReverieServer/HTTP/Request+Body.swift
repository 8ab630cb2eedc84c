import Foundation
import Hummingbird
import ReverieCore

extension Request {
    /// The body as a JSON object, within the configured size limit. An empty body reads as `{}`.
    func jsonObject(context: ReverieRequestContext) async throws -> ObjectReader {
        var copy = self
        let buffer = try await copy.collectBody(upTo: context.maxUploadSize)
        if buffer.readableBytes == 0 { return try ObjectReader(.object([:])) }
        return try ObjectReader(body: Data(buffer: buffer))
    }

    /// Query parameters.
    var query: QueryParameters { QueryParameters(uri.query) }
}

extension ReverieRequestContext {
    /// A required path parameter.
    func pathParameter(_ name: String) throws -> String {
        try parameters.require(name)
    }
}
