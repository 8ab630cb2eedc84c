/// An `environment_variable` credential as one session's egress proxy applies it: the sandbox's
/// environment variable `name` holds only `placeholder`; the proxy replaces the placeholder with
/// `secret` in requests to `hosts`, in the parts `injection` names. The secret never enters the
/// sandbox.
public struct EgressCredential: Sendable, Hashable {
    /// Which destinations the secret is substituted on.
    public enum Hosts: Sendable, Hashable {
        /// Any host the session's network policy lets the sandbox reach.
        case unrestricted
        /// Only these: exact host names or IPv4 literals, and `*.example.com` for any subdomain
        /// (not the apex), matched as `allowed_hosts` of a network policy are.
        case limited([String])
    }

    /// Where in a request the placeholder is replaced.
    public struct Injection: Sendable, Hashable {
        /// In header field values (and inside `Authorization: Basic` credentials).
        public var header: Bool
        /// In the request body.
        public var body: Bool

        public init(header: Bool, body: Bool) {
            self.header = header
            self.body = body
        }
    }

    /// The environment variable's name inside the sandbox.
    public let name: String
    /// What the sandbox sees instead of the secret: random, per session sandbox.
    public let placeholder: String
    /// The real value, substituted by the proxy only.
    public let secret: String
    public let hosts: Hosts
    public let injection: Injection

    /// A credential with a fresh random placeholder (or `placeholder`, for tests).
    public init(name: String, secret: String, hosts: Hosts, injection: Injection, placeholder: String? = nil) {
        self.name = name
        self.secret = secret
        self.hosts = hosts
        self.injection = injection
        self.placeholder = placeholder ?? Self.makePlaceholder()
    }

    /// Whether the secret may be substituted into a request to `host` (lowercased name or IP literal).
    public func applies(to host: String) -> Bool {
        switch hosts {
        case .unrestricted: return true
        case .limited(let patterns): return patterns.contains { EgressPolicy.pattern($0, matches: host) }
        }
    }

    /// Whether `name` can be set in the sandbox: a POSIX name that the sandbox's own settings
    /// (the proxy, paths, the CA bundle) do not use.
    public var hasUsableName: Bool {
        guard let first = name.utf8.first, !(0x30...0x39).contains(first), name.utf8.count <= 128 else { return false }
        let valid = name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x5f }
        return valid && !Self.reservedNames.contains(name.uppercased())
    }

    /// Names the sandbox's environment already gives a meaning.
    static let reservedNames: Set<String> = [
        "PATH", "HOME", "LANG", "TMPDIR", "USER", "LOGNAME", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
        "SSL_CERT_FILE", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "LD_PRELOAD", "LD_LIBRARY_PATH",
    ]

    /// `reverie_placeholder_` and 32 random hex digits: long enough never to occur by chance,
    /// plain enough to pass through any header or body unescaped.
    static func makePlaceholder() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = (0..<2).map { _ in
            let value = generator.next() as UInt64
            let hex = String(value, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }
        return "reverie_placeholder_" + digits.joined()
    }
}
