import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ReverieCore
import ReverieRuntime

/// The web console: server-rendered pages under `/console` over the same services the API
/// routes call. Sign-in takes an API key and keeps it server-side behind an HttpOnly,
/// SameSite=Strict cookie; every state-changing request must carry the session's CSRF token
/// and come from this origin; every response forbids inline script and framing.
public struct Console: Sendable {
    /// Checks an API key secret, returning its id (`apikey_…`), or nil when it is not valid.
    public typealias KeyVerifier = @Sendable (String) async throws -> String?
    /// The HTTP status and client-safe message for an error (the server edge decides both).
    public typealias ErrorDescriber = @Sendable (any Error) -> (status: Int, message: String)

    let platform: Platform
    let configuration: ConsoleConfiguration
    let verifyKey: KeyVerifier
    let describeError: ErrorDescriber
    let signIns: ConsoleSessionStore
    let signInThrottle = SignInThrottle()
    let templates: ConsoleTemplates
    let heartbeat: Duration

    /// Fails when the templates in the module's resources cannot be read or parsed.
    public init(
        platform: Platform, configuration: ConsoleConfiguration, heartbeatSeconds: Double, verifyKey: @escaping KeyVerifier,
        describeError: @escaping ErrorDescriber
    ) throws {
        self.platform = platform
        self.configuration = configuration
        self.verifyKey = verifyKey
        self.describeError = describeError
        self.signIns = ConsoleSessionStore(ttl: configuration.sessionTTL)
        self.templates = try ConsoleTemplates()
        self.heartbeat = .milliseconds(Int64(max(0.05, heartbeatSeconds) * 1000))
    }

    /// Adds every `/console` route to `router`. The API's own authentication must let
    /// `/console` paths through: the console authenticates them itself.
    /// Failed sign-ins are throttled by the client's address (`remoteAddress`).
    public func register<Context: RemoteAddressRequestContext>(on router: Router<Context>) {
        router.get("console") { _, _ in Self.redirect(to: "/console/sessions") }
        router.get("console/static/:file") { _, context in
            guard let name = context.parameters.get("file"), let file = self.templates.staticFiles[name] else {
                return self.securedResponse(Response(status: .notFound, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "not found"))))
            }
            return self.securedResponse(Response(
                status: .ok, headers: [.contentType: file.contentType, .cacheControl: "no-cache"],
                body: .init(byteBuffer: ByteBuffer(bytes: file.bytes))))
        }
        registerSignIn(on: router)
        registerSessions(on: router)
        registerAgents(on: router)
        registerMemory(on: router)
        registerDreams(on: router)
        registerWebhooks(on: router)
        registerEnvironments(on: router)
        registerDeployments(on: router)
        registerVaults(on: router)
    }
}

/// Who a console request is from.
struct SignedIn: Sendable {
    let session: ConsoleSession
    /// Memory changes made through the console are the signed-in API key's.
    var actor: MemoryActor { .apiKey(session.apiKeyID) }
    var csrf: String { session.csrfToken }
}

/// The console's sections, in navigation order.
enum ConsoleSection: String, CaseIterable {
    case sessions, agents, deployments, memory, dreams, webhooks, environments, vaults

    var label: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
}
