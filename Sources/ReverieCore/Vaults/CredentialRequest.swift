import Foundation

/// A parsed credential create body.
public struct CredentialCreateRequest: Sendable {
    public var displayName: String?
    public var metadata: [String: String]
    public var auth: CredentialAuth
    public var secrets: CredentialSecrets

    public init(_ body: ObjectReader, now: Date) throws(APIError) {
        try body.rejectUnknown(["auth", "display_name", "metadata"])
        displayName = try CredentialFields.displayName(body)
        metadata = try Metadata.parse(body.members["metadata"], at: body.field("metadata"))
        let auth = try body.requiredObject("auth")
        switch try auth.discriminator() {
        case "static_bearer":
            try auth.rejectUnknown(["type", "token", "mcp_server_url"])
            self.auth = .staticBearer(mcpServerURL: try CredentialFields.url(auth, "mcp_server_url"))
            secrets = CredentialSecrets(token: try CredentialFields.secret(auth, "token"))
        case "mcp_oauth":
            try auth.rejectUnknown(["type", "access_token", "mcp_server_url", "expires_at", "refresh"])
            var oauth = CredentialAuth.MCPOAuth(mcpServerURL: try CredentialFields.url(auth, "mcp_server_url"))
            oauth.expiresAt = try CredentialFields.expiry(auth, now: now)
            secrets = CredentialSecrets(accessToken: try CredentialFields.secret(auth, "access_token"))
            if let refresh = try auth.object("refresh") {
                try refresh.rejectUnknown(["client_id", "refresh_token", "token_endpoint", "token_endpoint_auth", "resource", "scope"])
                let endpointAuth = try refresh.requiredObject("token_endpoint_auth")
                let clientAuthentication: CredentialAuth.OAuthRefresh.ClientAuthentication
                switch try endpointAuth.discriminator() {
                case "none":
                    try endpointAuth.rejectUnknown(["type"])
                    clientAuthentication = .none
                case "client_secret_basic", "client_secret_post":
                    try endpointAuth.rejectUnknown(["type", "client_secret"])
                    clientAuthentication = try endpointAuth.discriminator() == "client_secret_basic" ? .clientSecretBasic : .clientSecretPost
                    secrets.clientSecret = try CredentialFields.secret(endpointAuth, "client_secret")
                case let other:
                    throw APIError.invalidRequest(
                        "\(endpointAuth.field("type")): must be 'none', 'client_secret_basic' or 'client_secret_post', got '\(other)'")
                }
                let clientID = try refresh.requiredString("client_id")
                try Rules.length(clientID, refresh.field("client_id"), min: 1, max: 1024)
                secrets.refreshToken = try CredentialFields.secret(refresh, "refresh_token")
                let resource = try refresh.string("resource")
                if let resource { try Rules.length(resource, refresh.field("resource"), max: 2048) }
                let scope = try refresh.string("scope")
                if let scope { try Rules.length(scope, refresh.field("scope"), max: 2048) }
                oauth.refresh = CredentialAuth.OAuthRefresh(
                    clientID: clientID, tokenEndpoint: try CredentialFields.url(refresh, "token_endpoint"), clientAuthentication: clientAuthentication,
                    resource: resource, scope: scope?.isEmpty == true ? nil : scope)
            }
            self.auth = .mcpOAuth(oauth)
        case "environment_variable":
            try auth.rejectUnknown(["type", "networking", "secret_name", "secret_value", "injection_location"])
            let name = try auth.requiredString("secret_name")
            try CredentialFields.checkVariableName(name, auth.field("secret_name"))
            var variable = CredentialAuth.EnvironmentVariable(
                secretName: name, injectHeader: true, injectBody: false,
                allowedHosts: try CredentialFields.networking(try auth.requiredObject("networking")))
            if let injection = try auth.object("injection_location") {
                try injection.rejectUnknown(["header", "body"])
                variable.injectHeader = try injection.bool("header") ?? variable.injectHeader
                variable.injectBody = try injection.bool("body") ?? variable.injectBody
            }
            try CredentialFields.checkInjection(variable, auth.field("injection_location"))
            self.auth = .environmentVariable(variable)
            secrets = CredentialSecrets(secretValue: try CredentialFields.secret(auth, "secret_value"))
        case let other:
            throw APIError.invalidRequest("\(auth.field("type")): must be 'static_bearer', 'mcp_oauth' or 'environment_variable', got '\(other)'")
        }
    }

    /// The new credential.
    public func makeCredential(id: String, vaultID: String, now: Date) -> VaultCredential {
        VaultCredential(id: id, vaultID: vaultID, displayName: displayName, metadata: metadata, auth: auth, createdAt: now, updatedAt: now)
    }
}

/// A parsed credential update body.
public struct CredentialUpdateRequest: Sendable {
    public var displayName: Patch<String>
    public var metadata: JSONValue?
    public var auth: ObjectReader?

    public init(_ body: ObjectReader) throws(APIError) {
        try body.rejectUnknown(["auth", "display_name", "metadata"])
        displayName = try body.stringPatch("display_name")
        if let name = displayName.value {
            try Rules.length(name, body.field("display_name"), min: 1, max: VaultCredential.maxDisplayNameLength)
            try Rules.noControlCharacters(name, body.field("display_name"))
        }
        metadata = body.members["metadata"]
        auth = try body.object("auth")
    }

    /// `current` and its secrets with this update applied.
    public func applied(to current: VaultCredential, secrets: CredentialSecrets, now: Date) throws(APIError) -> (VaultCredential, CredentialSecrets) {
        var next = current
        var nextSecrets = secrets
        next.displayName = displayName.applied(to: current.displayName)
        next.metadata = try Metadata.applyPatch(metadata, to: current.metadata, at: FieldPath("metadata"))
        if let auth {
            let type = try auth.discriminator()
            guard type == current.auth.type else {
                throw APIError.invalidRequest("\(auth.field("type")): the credential is '\(current.auth.type)' and its type cannot change (got '\(type)')")
            }
            switch current.auth {
            case .staticBearer:
                try auth.rejectUnknown(["type", "token"])
                if let token = try CredentialFields.optionalSecret(auth, "token") { nextSecrets.token = token }
            case .mcpOAuth(var oauth):
                try auth.rejectUnknown(["type", "access_token", "expires_at", "refresh"])
                if let token = try CredentialFields.optionalSecret(auth, "access_token") { nextSecrets.accessToken = token }
                if auth.contains("expires_at") { oauth.expiresAt = try CredentialFields.expiry(auth, now: now) ?? oauth.expiresAt }
                if let refresh = try auth.object("refresh") {
                    guard var stored = oauth.refresh else {
                        throw APIError.invalidRequest("\(auth.field("refresh")): the credential has no refresh configuration to update")
                    }
                    try refresh.rejectUnknown(["refresh_token", "scope", "token_endpoint_auth"])
                    if let token = try CredentialFields.optionalSecret(refresh, "refresh_token") { nextSecrets.refreshToken = token }
                    if let scope = try refresh.string("scope") {
                        try Rules.length(scope, refresh.field("scope"), max: 2048)
                        stored.scope = scope.isEmpty ? nil : scope
                    }
                    if let endpointAuth = try refresh.object("token_endpoint_auth") {
                        let kind = try endpointAuth.discriminator()
                        guard kind == "client_secret_basic" || kind == "client_secret_post" else {
                            throw APIError.invalidRequest("\(endpointAuth.field("type")): must be 'client_secret_basic' or 'client_secret_post', got '\(kind)'")
                        }
                        guard stored.clientAuthentication != .none else {
                            throw APIError.invalidRequest(
                                "\(endpointAuth.field("type")): the credential's token endpoint uses no client authentication; a client secret cannot be set")
                        }
                        try endpointAuth.rejectUnknown(["type", "client_secret"])
                        if let secret = try CredentialFields.optionalSecret(endpointAuth, "client_secret") { nextSecrets.clientSecret = secret }
                    }
                    oauth.refresh = stored
                }
                next.auth = .mcpOAuth(oauth)
            case .environmentVariable(var variable):
                try auth.rejectUnknown(["type", "injection_location", "networking", "secret_value"])
                if let injection = try auth.object("injection_location") {
                    try injection.rejectUnknown(["header", "body"])
                    variable.injectHeader = try injection.bool("header") ?? variable.injectHeader
                    variable.injectBody = try injection.bool("body") ?? variable.injectBody
                    try CredentialFields.checkInjection(variable, auth.field("injection_location"))
                }
                if let networking = try auth.object("networking") { variable.allowedHosts = try CredentialFields.networking(networking) }
                if let value = try CredentialFields.optionalSecret(auth, "secret_value") { nextSecrets.secretValue = value }
                next.auth = .environmentVariable(variable)
            }
        }
        if next != current || nextSecrets != secrets { next.updatedAt = now }
        return (next, nextSecrets)
    }
}

/// Field rules shared by credential create and update.
enum CredentialFields {
    static let maxSecretLength = 16384
    static let maxAllowedHosts = 16

    static func displayName(_ body: ObjectReader) throws(APIError) -> String? {
        guard let name = try body.string("display_name") else { return nil }
        try Rules.length(name, body.field("display_name"), max: VaultCredential.maxDisplayNameLength)
        try Rules.noControlCharacters(name, body.field("display_name"))
        return name
    }

    /// A required secret: non-empty, bounded, no line breaks (it goes into HTTP headers).
    static func secret(_ reader: ObjectReader, _ key: String) throws(APIError) -> String {
        guard let value = try optionalSecret(reader, key) else { throw APIError.invalidRequest("\(reader.field(key)): required") }
        return value
    }

    static func optionalSecret(_ reader: ObjectReader, _ key: String) throws(APIError) -> String? {
        guard let value = try reader.string(key) else { return nil }
        // The value itself never appears in an error message.
        if value.isEmpty { throw APIError.invalidRequest("\(reader.field(key)): must not be empty") }
        if value.utf8.count > maxSecretLength { throw APIError.invalidRequest("\(reader.field(key)): must be at most \(maxSecretLength) bytes") }
        if value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) {
            throw APIError.invalidRequest("\(reader.field(key)): must not contain line breaks or NUL")
        }
        return value
    }

    /// An absolute http(s) URL.
    static func url(_ reader: ObjectReader, _ key: String) throws(APIError) -> String {
        let value = try reader.requiredString(key)
        try Rules.length(value, reader.field(key), min: 1, max: 2048)
        guard let components = URLComponents(string: value), let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = components.host, !host.isEmpty, components.user == nil, components.password == nil
        else {
            throw APIError.invalidRequest("\(reader.field(key)): must be an absolute http(s) URL without user info")
        }
        return value
    }

    /// `expires_at`: RFC 3339, in the future; nil when absent or null.
    static func expiry(_ reader: ObjectReader, now: Date) throws(APIError) -> Date? {
        guard let text = try reader.string("expires_at") else { return nil }
        guard let date = Timestamp.parse(text) else { throw APIError.invalidRequest("\(reader.field("expires_at")): must be an RFC 3339 timestamp") }
        guard date > now else { throw APIError.invalidRequest("\(reader.field("expires_at")): must be in the future") }
        return date
    }

    static func checkVariableName(_ name: String, _ field: FieldPath) throws(APIError) {
        let scalars = Array(name.unicodeScalars)
        let valid = !scalars.isEmpty && scalars.count <= 255
            && scalars.allSatisfy { $0.isASCII && ($0 == "_" || CharacterSet.alphanumerics.contains($0)) }
            && !CharacterSet.decimalDigits.contains(scalars[0])
        guard valid else {
            throw APIError.invalidRequest("\(field): must be an environment variable name (letters, digits and '_', not starting with a digit; at most 255)")
        }
    }

    static func checkInjection(_ variable: CredentialAuth.EnvironmentVariable, _ field: FieldPath) throws(APIError) {
        guard variable.injectHeader || variable.injectBody else { throw APIError.invalidRequest("\(field): at least one of header or body must be true") }
    }

    /// `unrestricted` (nil) or `limited` to hosts: bare names, IPv4 addresses or `*.` wildcards.
    static func networking(_ reader: ObjectReader) throws(APIError) -> [String]? {
        switch try reader.discriminator() {
        case "unrestricted":
            try reader.rejectUnknown(["type"])
            return nil
        case "limited":
            try reader.rejectUnknown(["type", "allowed_hosts"])
            guard let hosts = try reader.stringArray("allowed_hosts") else { throw APIError.invalidRequest("\(reader.field("allowed_hosts")): required") }
            try Rules.count(hosts, reader.field("allowed_hosts"), min: 1, max: maxAllowedHosts)
            for (index, host) in hosts.enumerated() where !isAllowedHost(host) {
                throw APIError.invalidRequest(
                    "\(reader.field("allowed_hosts").index(index)): '\(host.prefix(100))' is not a bare hostname, IPv4 address or '*.' wildcard")
            }
            return hosts.map { $0.lowercased() }
        case let other:
            throw APIError.invalidRequest("\(reader.field("type")): must be 'unrestricted' or 'limited', got '\(other)'")
        }
    }

    static func isAllowedHost(_ host: String) -> Bool {
        var name = Substring(host)
        if name.hasPrefix("*.") { name = name.dropFirst(2) }
        guard !name.isEmpty, name.utf8.count <= 253 else { return false }
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0 == "-" || CharacterSet.alphanumerics.contains($0)) }
        }
    }
}
