import Foundation

/// The result of `mcp_oauth_validate`, shaped like the SDK's `BetaManagedAgentsCredentialValidation`.
public struct CredentialValidation: Sendable, Equatable {
    /// `valid`, `invalid` or `unknown`.
    public enum Status: String, Sendable {
        case valid, invalid, unknown
    }

    /// A captured HTTP error response (body truncated, secrets scrubbed).
    public struct HTTPResponse: Sendable, Equatable {
        public var statusCode: Int
        public var contentType: String
        public var body: String
        public var bodyTruncated: Bool

        public init(statusCode: Int, contentType: String, body: String, bodyTruncated: Bool) {
            self.statusCode = statusCode
            self.contentType = contentType
            self.body = body
            self.bodyTruncated = bodyTruncated
        }

        /// A response body for reporting: at most `limit` bytes, with each of `secrets` replaced.
        public init(statusCode: Int, contentType: String, body: Data, scrubbing secrets: [String], limit: Int = 2048) {
            var text = String(decoding: body, as: UTF8.self)
            for secret in secrets where !secret.isEmpty { text = text.replacingOccurrences(of: secret, with: "[redacted]") }
            let truncated = text.utf8.count > limit
            if truncated { text = String(decoding: Array(text.utf8.prefix(limit)), as: UTF8.self) }
            self.init(statusCode: statusCode, contentType: contentType, body: text, bodyTruncated: truncated)
        }

        var json: JSONValue {
            ["status_code": .int(Int64(statusCode)), "content_type": .string(contentType), "body": .string(body), "body_truncated": .bool(bodyTruncated)]
        }
    }

    /// The failing MCP step.
    public struct Probe: Sendable, Equatable {
        public var method: String
        public var httpResponse: HTTPResponse?

        public init(method: String, httpResponse: HTTPResponse?) {
            self.method = method
            self.httpResponse = httpResponse
        }
    }

    /// A refresh attempt.
    public struct Refresh: Sendable, Equatable {
        /// `succeeded`, `failed`, `connect_error` or `no_refresh_token`.
        public var status: String
        public var httpResponse: HTTPResponse?

        public init(status: String, httpResponse: HTTPResponse? = nil) {
            self.status = status
            self.httpResponse = httpResponse
        }
    }

    public var credentialID: String
    public var vaultID: String
    public var status: Status
    public var hasRefreshToken: Bool
    public var mcpProbe: Probe?
    public var refresh: Refresh?
    public var validatedAt: Date

    public init(
        credentialID: String, vaultID: String, status: Status, hasRefreshToken: Bool, mcpProbe: Probe?, refresh: Refresh?, validatedAt: Date
    ) {
        self.credentialID = credentialID
        self.vaultID = vaultID
        self.status = status
        self.hasRefreshToken = hasRefreshToken
        self.mcpProbe = mcpProbe
        self.refresh = refresh
        self.validatedAt = validatedAt
    }

    /// The response form.
    public var json: JSONValue {
        [
            "type": "vault_credential_validation", "credential_id": .string(credentialID), "vault_id": .string(vaultID),
            "status": .string(status.rawValue), "has_refresh_token": .bool(hasRefreshToken),
            "mcp_probe": mcpProbe.map { ["method": .string($0.method), "http_response": $0.httpResponse?.json ?? .null] } ?? .null,
            "refresh": refresh.map { ["status": .string($0.status), "http_response": $0.httpResponse?.json ?? .null] } ?? .null,
            "validated_at": .string(Timestamp.format(validatedAt)),
        ]
    }
}
