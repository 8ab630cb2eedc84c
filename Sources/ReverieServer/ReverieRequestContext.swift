import Hummingbird
import NIOCore

/// The request context of every route: the body limit, and who authenticated.
public struct ReverieRequestContext: RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by the server from its configuration.
    public var maxUploadSize: Int
    /// The id of the API key that authenticated the request (`static` for `REVERIE_API_KEY`).
    public var apiKeyID: String?
    /// Who authenticated the request (an API key, an environment key, a work item's token).
    public var credential: Credential?
    /// The request's id, echoed in the `request-id` header and in error bodies.
    public var requestID: String
    /// The client's address (the console throttles failed sign-ins by it).
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.maxUploadSize = 8 * 1024 * 1024
        self.apiKeyID = nil
        self.credential = nil
        self.requestID = "req_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        self.remoteAddress = source.channel.remoteAddress
    }
}
