/// An error the API reports to its caller: a type from the API's error vocabulary and a
/// message of ours that names what was wrong.
///
/// The domain rules throw this. It knows nothing of HTTP: the server maps each kind to its
/// status and to the error envelope `{"type":"error","error":{"type","message"}}` in one
/// place (`ErrorEnvelope`).
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `error.type` values of the API.
    public enum Kind: String, Sendable, Equatable {
        case invalidRequest = "invalid_request_error"
        case authentication = "authentication_error"
        case permission = "permission_error"
        case notFound = "not_found_error"
        case conflict = "conflict_error"
        case memoryPreconditionFailed = "memory_precondition_failed_error"
        case memoryPathConflict = "memory_path_conflict_error"
        /// A conditional request whose precondition no longer holds (a work item's heartbeat).
        case preconditionFailed = "precondition_failed_error"
        case requestTooLarge = "request_too_large"
        case rateLimit = "rate_limit_error"
        case timeout = "timeout_error"
        case api = "api_error"
        case overloaded = "overloaded_error"
    }

    public var kind: Kind
    public var message: String
    /// `error.details`, for errors that carry structured details (`details.error_code` names the cause).
    public var details: JSONValue?

    public init(_ kind: Kind, _ message: String, details: JSONValue? = nil) {
        self.kind = kind
        self.message = message
        self.details = details
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// 400: the request is malformed or breaks a rule; `message` names the field.
    public static func invalidRequest(_ message: String) -> APIError { .init(.invalidRequest, message) }

    /// 404 for a resource of `resource` kind (e.g. "agent") with `id`.
    public static func notFound(_ resource: String, _ id: String) -> APIError {
        .init(.notFound, "\(resource) '\(id)' not found")
    }

    /// 409: the request conflicts with the resource's current state.
    public static func conflict(_ message: String) -> APIError { .init(.conflict, message) }

    /// 400 for writing to an archived (read-only) resource.
    public static func archived(_ resource: String, _ id: String) -> APIError {
        .init(.invalidRequest, "\(resource) '\(id)' is archived and read-only")
    }

    /// 500 for a failure inside Reverie that the caller cannot fix.
    public static func internalError(_ message: String) -> APIError { .init(.api, message) }
}
