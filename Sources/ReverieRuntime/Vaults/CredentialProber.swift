import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ReverieCore

/// A token endpoint's answer to a refresh (RFC 6749 §5.1).
public struct OAuthTokenResponse: Sendable, Equatable {
    public var accessToken: String
    public var refreshToken: String?
    public var expiresIn: Int?
}

/// Talks to MCP servers and OAuth token endpoints on a credential's behalf: the live probe of
/// `mcp_oauth_validate` and the refresh-token exchange. Addresses are checked with the server's
/// outbound address policy (the webhook one) first; redirects are not followed. Each call uses
/// its own short-lived HTTP client (these calls are rare), shut down when it ends.
public struct CredentialProber: Sendable {
    let urlGuard: WebhookURLGuard
    let timeout: TimeAmount

    public init(urlGuard: WebhookURLGuard, timeout: Duration = .seconds(10)) {
        self.urlGuard = urlGuard
        self.timeout = .milliseconds(Int64(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
    }

    /// What a validation found.
    public struct Outcome: Sendable {
        public var status: CredentialValidation.Status
        public var probe: CredentialValidation.Probe?
        public var refresh: CredentialValidation.Refresh?
        /// A new token to store.
        public var refreshed: OAuthTokenResponse?
        public var refreshFailed: Bool
    }

    /// Probes the MCP server with the access token (an MCP `initialize`); on 401/403 tries a refresh
    /// and probes again with the new token.
    public func validate(oauth: CredentialAuth.MCPOAuth, secrets: CredentialSecrets) async -> Outcome {
        var outcome = Outcome(status: .invalid, probe: nil, refresh: nil, refreshed: nil, refreshFailed: false)
        guard let accessToken = secrets.accessToken else { return outcome }
        let first = await probe(url: oauth.mcpServerURL, token: accessToken, scrubbing: secrets.values)
        switch first {
        case .accepted:
            outcome.status = .valid
            return outcome
        case .failed(let response):
            outcome.status = .unknown
            outcome.probe = CredentialValidation.Probe(method: "initialize", httpResponse: response)
            return outcome
        case .rejected(let response):
            outcome.probe = CredentialValidation.Probe(method: "initialize", httpResponse: response)
        }
        guard let refresh = oauth.refresh, let refreshToken = secrets.refreshToken else {
            outcome.refresh = CredentialValidation.Refresh(status: "no_refresh_token")
            return outcome
        }
        switch await self.refresh(refresh, refreshToken: refreshToken, clientSecret: secrets.clientSecret, scrubbing: secrets.values) {
        case .connectError:
            outcome.status = .unknown
            outcome.refresh = CredentialValidation.Refresh(status: "connect_error")
        case .failed(let response):
            outcome.refresh = CredentialValidation.Refresh(status: "failed", httpResponse: response)
            outcome.refreshFailed = true
        case .succeeded(let token):
            outcome.refresh = CredentialValidation.Refresh(status: "succeeded")
            outcome.refreshed = token
            switch await probe(url: oauth.mcpServerURL, token: token.accessToken, scrubbing: secrets.values + [token.accessToken] + (token.refreshToken.map { [$0] } ?? [])) {
            case .accepted:
                outcome.status = .valid
                outcome.probe = nil
            case .rejected(let response):
                outcome.status = .invalid
                outcome.probe = CredentialValidation.Probe(method: "initialize", httpResponse: response)
            case .failed(let response):
                outcome.status = .unknown
                outcome.probe = CredentialValidation.Probe(method: "initialize", httpResponse: response)
            }
        }
        return outcome
    }

    enum ProbeResult {
        case accepted
        /// 401 or 403.
        case rejected(CredentialValidation.HTTPResponse)
        /// Any other failure (nil: no HTTP response, e.g. refused address or connection error).
        case failed(CredentialValidation.HTTPResponse?)
    }

    /// An MCP `initialize` with the bearer token.
    func probe(url: String, token: String, scrubbing secrets: [String]) async -> ProbeResult {
        guard case .allowed(let destination) = await urlGuard.pin(url) else { return .failed(nil) }
        let body: JSONValue = [
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": [
                "protocolVersion": "2025-06-18", "capabilities": [:], "clientInfo": ["name": "reverie-credential-probe", "version": "1.0"],
            ],
        ]
        var request = HTTPClientRequest(url: destination.url)
        request.method = .POST
        if let host = destination.hostHeader { request.headers.add(name: "host", value: host) }
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: "application/json, text/event-stream")
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        guard let data = try? JSONCoding.data(body) else { return .failed(nil) }
        request.body = .bytes(ByteBuffer(bytes: data))
        guard let (status, contentType, responseBody) = await send(request) else { return .failed(nil) }
        if (200..<300).contains(status) { return .accepted }
        let captured = CredentialValidation.HTTPResponse(statusCode: status, contentType: contentType, body: responseBody, scrubbing: secrets)
        return status == 401 || status == 403 ? .rejected(captured) : .failed(captured)
    }

    enum RefreshResult {
        case succeeded(OAuthTokenResponse)
        case failed(CredentialValidation.HTTPResponse)
        case connectError
    }

    /// The refresh-token grant at the token endpoint.
    func refresh(_ refresh: CredentialAuth.OAuthRefresh, refreshToken: String, clientSecret: String?, scrubbing secrets: [String]) async -> RefreshResult {
        guard case .allowed(let destination) = await urlGuard.pin(refresh.tokenEndpoint) else { return .connectError }
        var form: [(String, String)] = [("grant_type", "refresh_token"), ("refresh_token", refreshToken)]
        var request = HTTPClientRequest(url: destination.url)
        request.method = .POST
        if let host = destination.hostHeader { request.headers.add(name: "host", value: host) }
        request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "accept", value: "application/json")
        switch refresh.clientAuthentication {
        case .none:
            form.append(("client_id", refresh.clientID))
        case .clientSecretPost:
            form.append(("client_id", refresh.clientID))
            form.append(("client_secret", clientSecret ?? ""))
        case .clientSecretBasic:
            let pair = Self.formEncode(refresh.clientID) + ":" + Self.formEncode(clientSecret ?? "")
            request.headers.add(name: "authorization", value: "Basic " + Data(pair.utf8).base64EncodedString())
        }
        if let scope = refresh.scope { form.append(("scope", scope)) }
        if let resource = refresh.resource { form.append(("resource", resource)) }
        let encoded = form.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        request.body = .bytes(ByteBuffer(string: encoded))
        guard let (status, contentType, body) = await send(request) else { return .connectError }
        let scrub = secrets + [refreshToken] + (clientSecret.map { [$0] } ?? [])
        guard (200..<300).contains(status) else {
            return .failed(CredentialValidation.HTTPResponse(statusCode: status, contentType: contentType, body: body, scrubbing: scrub))
        }
        guard let value = try? JSONCoding.decode(JSONValue.self, from: body), case .string(let accessToken)? = value["access_token"], !accessToken.isEmpty
        else {
            return .failed(CredentialValidation.HTTPResponse(statusCode: status, contentType: contentType, body: Data("no access_token in the token endpoint's answer".utf8), scrubbing: scrub))
        }
        var expiresIn: Int?
        if case .int(let seconds)? = value["expires_in"] { expiresIn = Int(seconds) }
        if case .double(let seconds)? = value["expires_in"] { expiresIn = Int(seconds) }
        var rotated: String?
        if case .string(let token)? = value["refresh_token"], !token.isEmpty { rotated = token }
        return .succeeded(OAuthTokenResponse(accessToken: accessToken, refreshToken: rotated, expiresIn: expiresIn))
    }

    /// Sends a request; the status, content type and up to 64 KiB of body, or nil on a transport failure.
    func send(_ request: HTTPClientRequest) async -> (Int, String, Data)? {
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout = .init(connect: timeout, read: timeout)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        var result: (Int, String, Data)?
        do {
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 64 * 1024)
            result = (Int(response.status.code), response.headers.first(name: "content-type") ?? "", Data(body.readableBytesView))
        } catch {
            result = nil
        }
        try? await client.shutdown()
        return result
    }

    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
