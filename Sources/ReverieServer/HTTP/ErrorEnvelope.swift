import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReverieCore

/// The one place errors become responses:
/// `{"type":"error","error":{"type","message"},"request_id"}` with the kind's HTTP status.
enum ErrorEnvelope {
    static func response(for error: APIError, requestID: String) -> Response {
        var detail: [String: JSONValue] = ["type": .string(error.kind.rawValue), "message": .string(error.message)]
        if let details = error.details { detail["details"] = details }
        let body: JSONValue = ["type": "error", "error": .object(detail), "request_id": .string(requestID)]
        let json = (try? JSONCoding.string(body)) ?? #"{"type":"error","error":{"type":"api_error","message":"internal error"}}"#
        var response = JSONResponse.make(status: HTTPResponse.Status(code: status(of: error.kind)), json: json)
        response.headers[.requestID] = requestID
        if error.kind == .authentication { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    /// The HTTP status each kind of error is sent with.
    static func status(of kind: APIError.Kind) -> Int {
        switch kind {
        case .invalidRequest: 400
        case .authentication: 401
        case .permission: 403
        case .notFound: 404
        case .conflict, .memoryPreconditionFailed, .memoryPathConflict: 409
        case .preconditionFailed: 412
        case .requestTooLarge: 413
        case .rateLimit: 429
        case .timeout: 504
        case .api: 500
        case .overloaded: 529
        }
    }

    /// Maps any error to an `APIError`: HTTP errors keep their status, decoding errors are 400s,
    /// everything else is a 500 that hides internals.
    static func apiError(from error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            switch error.status.code {
            case 413: return APIError(.requestTooLarge, "request body is larger than the server accepts")
            case 404: return APIError(.notFound, error.body ?? "no such route")
            case 405: return APIError(.notFound, "method not allowed on this route")
            case 400..<500: return APIError(.invalidRequest, error.body ?? "bad request")
            default: return APIError(.api, error.body ?? "internal error")
            }
        case is NIOTooManyBytesError:
            return APIError(.requestTooLarge, "request body is larger than the server accepts")
        case is DecodingError:
            return APIError(.invalidRequest, "request body does not match the expected shape")
        default:
            return APIError(.api, "internal server error")
        }
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("request-id")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let apiKey = HTTPField.Name("x-api-key")!
    static let accelBuffering = HTTPField.Name("X-Accel-Buffering")!
}
