import ReverieCore
import ReverieModels

/// A model failure as the session records it.
struct ModelFailure {
    var errorType: String
    var message: String
    var retryStatus: String
    var stopReason: String

    init(_ error: any Error) {
        let modelError = (error as? ModelError) ?? (error as? any ModelErrorCarrying)?.modelError
        let kind = modelError?.kind
        switch kind {
        case .rateLimited?: errorType = "model_rate_limited_error"
        case .overloaded?: errorType = "model_overloaded_error"
        case .serverError?, .timeout?, .connection?, .truncated?, .invalidRequest?, .authentication?, .invalidResponse?:
            errorType = "model_request_failed_error"
        case .notConfigured?, nil: errorType = "unknown_error"
        }
        message = modelError.map { "Model request failed: \($0.description)" } ?? "Model request failed: \(ClientMessage.describe(error))"
        if modelError?.isRetryable == true {
            retryStatus = "exhausted"
            stopReason = "retries_exhausted"
        } else {
            retryStatus = "terminal"
            stopReason = "end_turn"
        }
    }
}

/// An error that wraps the last `ModelError` (for example, retries exhausted).
public protocol ModelErrorCarrying: Error {
    var modelError: ModelError { get }
}
