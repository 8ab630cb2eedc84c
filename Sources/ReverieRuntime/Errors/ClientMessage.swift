import ReverieCore
import ReverieExecution
import ReverieModels

/// The text a client may see for an error (in `session.error` events, a dream's `error`,
/// a tool result the model reads). Errors of our own vocabulary say what went wrong in our
/// words; anything else — a database, file system or library error — is reported without its
/// description, which goes to the server log instead.
public enum ClientMessage {
    public static func describe(_ error: any Error) -> String {
        switch error {
        case let error as APIError: error.message
        case let error as ModelError: error.description
        case let error as any ModelErrorCarrying: error.modelError.description
        case let error as SandboxError: error.message
        case is CancellationError: "the operation was cancelled"
        default: "an internal error occurred (details are in the server log)"
        }
    }
}
