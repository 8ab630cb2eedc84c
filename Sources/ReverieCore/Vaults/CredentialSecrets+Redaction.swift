/// Secret-holding values print redacted, so a stray log line or error interpolation never
/// carries a secret (`"\(secrets)"`, `String(reflecting:)`, `dump`-free logging).
extension CredentialSecrets: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "CredentialSecrets(\(values.count) value(s), redacted)" }
    public var debugDescription: String { description }
}

extension SessionCredentials.MCPServer: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "MCPServer(credential: \(credentialID), url: \(mcpServerURL), secrets redacted)" }
    public var debugDescription: String { description }
}

extension SessionCredentials.EnvironmentSecret: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String { "EnvironmentSecret(credential: \(credentialID), name: \(name), value redacted)" }
    public var debugDescription: String { description }
}
