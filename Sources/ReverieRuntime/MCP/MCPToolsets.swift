import AsyncHTTPClient
import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieModels

/// The MCP tools one agent loop may call, bound to their connected servers, with the
/// failures met while connecting (recorded as `session.error`s; the session goes on without
/// that server's tools).
public struct MCPToolsets: Sendable {
    /// One tool the model may call.
    public struct Tool: Sendable {
        public var serverName: String
        /// The server's own name for it.
        public var name: String
        public var definition: ToolDefinition
        public var policy: PermissionPolicy
        let client: MCPClient
    }

    /// By model-facing name.
    public var tools: [String: Tool]
    /// Failures by server name, in the agent's order.
    public var failures: [(server: String, failure: MCPFailure)]

    public init(tools: [String: Tool] = [:], failures: [(server: String, failure: MCPFailure)] = []) {
        self.tools = tools
        self.failures = failures
    }

    public static let none = MCPToolsets()

    /// The `session.error` events for the failures.
    public var failureEvents: [SessionEvent] {
        failures.map { server, failure in
            SessionEvent(type: .sessionError, fields: [
                "error": [
                    "type": .string(failure.errorType), "mcp_server_name": .string(server), "message": .string(failure.message),
                    "retry_status": ["type": "terminal"],
                ],
            ])
        }
    }
}

/// Connects an agent's MCP servers for a session: the session's vault credential for each
/// server URL (`Authorization: Bearer`; an `mcp_oauth` token is refreshed first when expired,
/// and again when the server answers 401/403, the new token stored sealed), `tools/list`, and the
/// toolset's `default_config` and per-tool `configs` applied (`enabled: false` hides a tool).
public struct MCPConnector: Sendable {
    let resolver: SessionCredentialResolver
    let vaults: VaultService
    let prober: CredentialProber
    let http: HTTPClient
    let logger: Logger

    /// Owns an HTTP client for MCP connections (no redirects followed); `shutdown()` it at the end.
    public init(resolver: SessionCredentialResolver, vaults: VaultService, prober: CredentialProber, logger: Logger) {
        self.resolver = resolver
        self.vaults = vaults
        self.prober = prober
        self.logger = logger
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Closes the HTTP client.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// The tools of the agent's MCP toolsets for `session`.
    public func toolsets(for session: Session, agent: SessionAgent) async -> MCPToolsets {
        let toolsets = agent.tools.compactMap { tool -> MCPToolset? in if case .mcpToolset(let toolset) = tool { toolset } else { nil } }
        guard !toolsets.isEmpty else { return .none }
        var result = MCPToolsets()
        let credentials: SessionCredentials
        do {
            credentials = try await resolver.credentials(for: session)
        } catch {
            logger.error("could not read the session's vault credentials", metadata: ["session": "\(session.id)", "error": "\(error)"])
            credentials = SessionCredentials()
        }
        for toolset in toolsets {
            guard let server = agent.mcpServers.first(where: { $0.name == toolset.serverName }) else { continue }
            do {
                for tool in try await connect(server, toolset: toolset, credentials: credentials) { result.tools[tool.definition.name] = tool }
            } catch {
                result.failures.append((server.name, error))
            }
        }
        return result
    }

    private func connect(_ server: MCPServer, toolset: MCPToolset, credentials: SessionCredentials) async throws(MCPFailure) -> [MCPToolsets.Tool] {
        guard case .allowed(let destination) = await prober.urlGuard.pin(server.url) else {
            throw .connection("MCP server '\(server.name)': its URL's address is refused by the server's outbound policy")
        }
        let credential = credentials.mcpServer(url: server.url)
        var token = credential?.bearerToken
        var refresh: (@Sendable () async -> String?)?
        if let credential, credential.refresh != nil, credential.refreshToken != nil {
            let (vaults, prober, logger) = (vaults, prober, logger)
            refresh = { await Self.refreshed(credential, vaults: vaults, prober: prober, logger: logger) }
            if let expiry = credential.expiresAt, expiry <= Date().addingTimeInterval(30), let fresh = await refresh?() { token = fresh }
        }
        let client = MCPClient(
            serverName: server.name, url: destination.url, hostHeader: destination.hostHeader, http: http, token: token, refresh: refresh)
        do {
            try await client.connect()
        } catch .authentication(let message) where credential == nil {
            throw .authentication("\(message); no vault of the session holds a credential for \(server.url)")
        }
        let defaults = toolset.defaults
        var tools: [MCPToolsets.Tool] = []
        for remote in try await client.listTools() {
            let config = toolset.configs.first { $0.name == remote.name }
            guard config?.enabled ?? defaults.enabled else { continue }
            let name = MCPToolNaming.modelName(server: server.name, tool: remote.name)
            tools.append(MCPToolsets.Tool(
                serverName: server.name, name: remote.name,
                definition: ToolDefinition(name: name, description: remote.description, inputSchema: remote.inputSchema),
                policy: config?.permissionPolicy ?? defaults.permissionPolicy, client: client))
        }
        return tools
    }

    /// Refreshes an `mcp_oauth` token at its token endpoint and stores the result sealed.
    static func refreshed(_ credential: SessionCredentials.MCPServer, vaults: VaultService, prober: CredentialProber, logger: Logger) async -> String? {
        guard let refresh = credential.refresh, let refreshToken = credential.refreshToken else { return nil }
        switch await prober.refresh(refresh, refreshToken: refreshToken, clientSecret: credential.clientSecret, scrubbing: []) {
        case .succeeded(let token):
            do {
                try await vaults.storeRefreshed(token, vaultID: credential.vaultID, id: credential.credentialID)
            } catch {
                logger.error("could not store a refreshed MCP token", metadata: ["credential": "\(credential.credentialID)", "error": "\(error)"])
            }
            return token.accessToken
        case .failed, .connectError:
            _ = try? await vaults.store.appendOutboxEvents([
                OutboxEvent(type: "vault_credential.refresh_failed", resourceID: credential.credentialID, attributes: ["vault_id": credential.vaultID]),
            ])
            return nil
        }
    }
}
