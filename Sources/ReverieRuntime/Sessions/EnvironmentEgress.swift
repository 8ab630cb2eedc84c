import Foundation
import ReverieCore
import ReverieExecution

/// The network policy a session's sandbox gets from its environment's `networking`:
/// `unrestricted` reaches any public host; `limited` reaches only `allowed_hosts`, plus the
/// public package registries with `allow_package_managers` and the hosts of the agent's MCP
/// servers with `allow_mcp_servers`. Loopback, private, link-local and metadata addresses are
/// never reachable, whatever the policy (the egress proxy checks every resolved address).
enum EnvironmentEgress {
    /// The registries the package managers of `EnvironmentConfig.Packages` download from.
    static let packageRegistryHosts = [
        "pypi.org", "files.pythonhosted.org", "registry.npmjs.org", "registry.yarnpkg.com", "deb.debian.org", "security.debian.org",
        "archive.ubuntu.com", "security.ubuntu.com", "crates.io", "static.crates.io", "index.crates.io", "proxy.golang.org",
        "sum.golang.org", "rubygems.org", "index.rubygems.org", "repo.maven.apache.org", "repo1.maven.org",
    ]

    static func policy(for config: EnvironmentConfig?, agent: SessionAgent, allowedNetworks: [String]) -> EgressPolicy {
        switch config {
        case .cloud(.limited(let allowMCPServers, let allowPackageManagers, let allowedHosts), _)?:
            var hosts = allowedHosts
            if allowPackageManagers { hosts += packageRegistryHosts }
            if allowMCPServers { hosts += agent.mcpServers.compactMap { URL(string: $0.url)?.host } }
            return EgressPolicy(mode: .limited(allowedHosts: hosts), allowedNetworks: allowedNetworks)
        case .cloud(.unrestricted, _)?, .selfHosted?:
            return EgressPolicy(mode: .unrestricted, allowedNetworks: allowedNetworks)
        case nil:
            // The environment is gone: nothing.
            return EgressPolicy(mode: .none)
        }
    }
}
