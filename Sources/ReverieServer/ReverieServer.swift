import Foundation
import Hummingbird
import Logging
import NIOCore
import ReverieConsole
import ReverieCore
import ReverieRuntime
import ReverieStore

/// Builds the HTTP application serving the Managed Agents API over a `Platform`.
public enum ReverieServer {
    /// The router with every route and middleware. Fails when the web console's templates
    /// cannot be read from its resources.
    public static func router(platform: Platform, configuration: ServerConfiguration, telemetry: PrometheusTelemetry, statistics: any StatisticsStore)
        throws -> Router<ReverieRequestContext>
    {
        let router = Router(context: ReverieRequestContext.self)
        let verifier = APIKeyVerifier(staticKeys: configuration.staticAPIKeys, store: platform.keys, cacheLifetime: configuration.apiKeyCacheLifetime)
        router.add(middleware: RequestMetricsMiddleware(telemetry: telemetry))
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: RequestLimitMiddleware(maxBodyBytes: configuration.maxBodyBytes, maxUploadBytes: configuration.maxUploadBytes))
        router.add(middleware: AuthenticationMiddleware(
            verifier: verifier,
            workerCredentials: WorkerCredentials(environments: platform.environments, work: platform.work, cacheLifetime: configuration.apiKeyCacheLifetime),
            scope: CredentialScope(log: platform.log)))
        router.get("health") { _, _ in
            JSONResponse.make(json: #"{"status":"ok"}"#)
        }
        AgentRoutes(agents: platform.agents).register(on: router)
        EnvironmentRoutes(environments: platform.environments).register(on: router)
        EnvironmentKeyRoutes(environments: platform.environments).register(on: router)
        WorkRoutes(work: platform.work).register(on: router)
        SessionRoutes(sessions: platform.sessions, log: platform.log, streams: EventStream.Settings(configuration, telemetry: telemetry)).register(on: router)
        ThreadRoutes(sessions: platform.sessions, log: platform.log, streams: EventStream.Settings(configuration, telemetry: telemetry)).register(on: router)
        MemoryRoutes(memory: platform.memory).register(on: router)
        DreamRoutes(dreams: platform.dreams).register(on: router)
        EvaluationRoutes(evaluations: platform.evaluations).register(on: router)
        DreamPolicyRoutes(policies: platform.dreamPolicies).register(on: router)
        MetricsRoutes(telemetry: telemetry, statistics: statistics, hub: platform.log.hub).register(on: router)
        WebhookRoutes(webhooks: platform.webhooks).register(on: router)
        FileRoutes(files: platform.files).register(on: router)
        SkillRoutes(skills: platform.skills, files: platform.files).register(on: router)
        VaultRoutes(vaults: platform.vaults).register(on: router)
        DeploymentRoutes(deployments: platform.deployments).register(on: router)
        if configuration.consoleEnabled {
            // The console signs browsers in with the same API keys, and its errors get the same statuses.
            try Console(
                platform: platform, configuration: configuration.console, heartbeatSeconds: configuration.heartbeatSeconds,
                verifyKey: { try await verifier.verify($0) },
                describeError: { error in
                    let apiError = ErrorEnvelope.apiError(from: error)
                    return (ErrorEnvelope.status(of: apiError.kind), apiError.message)
                }
            ).register(on: router)
        }
        return router
    }

    /// The application; run it in a `ServiceGroup`. `onListening` receives the bound port.
    public static func application(
        platform: Platform, configuration: ServerConfiguration, telemetry: PrometheusTelemetry, statistics: any StatisticsStore, logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let limits = configuration.connections
        let counter = ConnectionCounter()
        return Application(
            router: try router(platform: platform, configuration: configuration, telemetry: telemetry, statistics: statistics),
            server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(limits: limits, counter: counter)])),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "reverie"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }
}

/// Applies the configured body size limit to every request's context, and refuses a request
/// whose declared `Content-Length` is over it with 413 before reading any of its body (the
/// connection is then closed, since the rest of that body will not be read).
struct RequestLimitMiddleware: RouterMiddleware {
    typealias Context = ReverieRequestContext
    let maxBodyBytes: Int
    /// Uploads (`POST /v1/files`, skills and their versions) may be larger; their routes stream them to disk.
    let maxUploadBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        let isUpload = request.method == .post
            && (path == "/v1/files" || path == "/v1/skills" || (path.hasPrefix("/v1/skills/") && path.hasSuffix("/versions")))
        let maxBodyBytes = isUpload ? maxUploadBytes + 64 * 1024 : self.maxBodyBytes
        if let declared = request.headers[.contentLength].flatMap({ Int($0) }), declared > maxBodyBytes {
            var response = ErrorEnvelope.response(
                for: APIError(.requestTooLarge, "request body of \(declared) bytes is larger than the \(maxBodyBytes) bytes this server accepts"),
                requestID: context.requestID)
            response.headers[.connection] = "close"
            return response
        }
        var context = context
        context.maxUploadSize = maxBodyBytes
        return try await next(request, context)
    }
}
