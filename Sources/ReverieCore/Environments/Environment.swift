import Foundation

/// A Managed Agents `environment`: the container configuration sessions run in.
///
/// Reverie runs every session in a local sandbox directory; the `cloud` networking and
/// package settings are stored and returned as configured.
public struct Environment: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var description: String?
    public var config: EnvironmentConfig
    public var metadata: [String: String]
    public var scope: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var archivedAt: Date?

    public init(
        id: String, name: String, description: String?, config: EnvironmentConfig, metadata: [String: String], scope: String?,
        createdAt: Date, updatedAt: Date, archivedAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.description = description
        self.config = config
        self.metadata = metadata
        self.scope = scope
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.archivedAt = archivedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, type, name, description, config, metadata, scope
        case createdAt = "created_at"
        case updatedAt = "updated_at"
        case archivedAt = "archived_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decodeIfPresent(String.self, forKey: .description)
        config = try container.decode(EnvironmentConfig.self, forKey: .config)
        metadata = try container.decodeIfPresent([String: String].self, forKey: .metadata) ?? [:]
        scope = try container.decodeIfPresent(String.self, forKey: .scope)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        archivedAt = try container.decodeIfPresent(Date.self, forKey: .archivedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("environment", forKey: .type)
        try container.encode(name, forKey: .name)
        try container.encode(description, forKey: .description)
        try container.encode(config, forKey: .config)
        try container.encode(metadata, forKey: .metadata)
        try container.encode(scope, forKey: .scope)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(archivedAt, forKey: .archivedAt)
    }
}

/// `cloud` (networking and packages) or `self_hosted`.
public enum EnvironmentConfig: Sendable, Equatable {
    case cloud(networking: Networking, packages: Packages)
    case selfHosted

    /// `unrestricted`, or `limited` to a host allow-list.
    public enum Networking: Sendable, Equatable {
        case unrestricted
        case limited(allowMCPServers: Bool, allowPackageManagers: Bool, allowedHosts: [String])
    }

    /// Packages to install, by package manager.
    public struct Packages: Sendable, Equatable {
        public static let managers = ["apt", "cargo", "gem", "go", "npm", "pip"]
        public var byManager: [String: [String]]

        public init(byManager: [String: [String]] = [:]) {
            self.byManager = byManager
        }

        public var isEmpty: Bool { byManager.values.allSatisfy(\.isEmpty) }
    }

    /// The default for a new environment: cloud, unrestricted, no packages.
    public static let standard = EnvironmentConfig.cloud(networking: .unrestricted, packages: Packages())
}

extension EnvironmentConfig: Codable {
    public init(from decoder: any Decoder) throws {
        let value = try JSONValue(from: decoder)
        do {
            self = try EnvironmentConfig.parse(value, at: FieldPath("config"), current: nil)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        try json.encode(to: encoder)
    }

    /// The resolved wire form.
    public var json: JSONValue {
        switch self {
        case .selfHosted:
            return ["type": "self_hosted"]
        case .cloud(let networking, let packages):
            let networkingJSON: JSONValue =
                switch networking {
                case .unrestricted: ["type": "unrestricted"]
                case .limited(let mcp, let managers, let hosts):
                    [
                        "type": "limited", "allow_mcp_servers": .bool(mcp), "allow_package_managers": .bool(managers),
                        "allowed_hosts": .array(hosts.map(JSONValue.string)),
                    ]
                }
            var packagesJSON: [String: JSONValue] = ["type": "packages"]
            for manager in Packages.managers {
                packagesJSON[manager] = .array((packages.byManager[manager] ?? []).map(JSONValue.string))
            }
            return ["type": "cloud", "networking": networkingJSON, "packages": .object(packagesJSON)]
        }
    }

    /// Parses a request `config`; on update, omitted fields keep `current`'s values.
    public static func parse(_ value: JSONValue, at field: FieldPath, current: EnvironmentConfig?) throws(APIError) -> EnvironmentConfig {
        let reader = try ObjectReader(value, at: field)
        switch try reader.discriminator() {
        case "self_hosted":
            try reader.rejectUnknown(["type"])
            return .selfHosted
        case "cloud":
            try reader.rejectUnknown(["type", "networking", "packages"])
            var networking = Networking.unrestricted
            var packages = Packages()
            if case .cloud(let currentNetworking, let currentPackages)? = current {
                networking = currentNetworking
                packages = currentPackages
            }
            if let net = try reader.object("networking") {
                switch try net.discriminator() {
                case "unrestricted":
                    try net.rejectUnknown(["type"])
                    networking = .unrestricted
                case "limited":
                    try net.rejectUnknown(["type", "allow_mcp_servers", "allow_package_managers", "allowed_hosts"])
                    var mcp = false
                    var managers = false
                    var hosts: [String] = []
                    if case .limited(let currentMCP, let currentManagers, let currentHosts) = networking {
                        (mcp, managers, hosts) = (currentMCP, currentManagers, currentHosts)
                    }
                    mcp = try net.bool("allow_mcp_servers") ?? mcp
                    managers = try net.bool("allow_package_managers") ?? managers
                    hosts = try net.stringArray("allowed_hosts") ?? hosts
                    for (index, host) in hosts.enumerated() where host.isEmpty || host.contains("/") || host.contains(" ") {
                        throw APIError.invalidRequest("\(net.field("allowed_hosts").index(index)): '\(host)' is not a host name")
                    }
                    networking = .limited(allowMCPServers: mcp, allowPackageManagers: managers, allowedHosts: hosts)
                case let other:
                    throw APIError.invalidRequest("\(net.field("type")): must be 'unrestricted' or 'limited', got '\(other)'")
                }
            }
            if let pkgs = try reader.object("packages") {
                try pkgs.rejectUnknown(Set(Packages.managers + ["type"]))
                if let type = try pkgs.string("type"), type != "packages" {
                    throw APIError.invalidRequest("\(pkgs.field("type")): must be 'packages'")
                }
                for manager in Packages.managers where pkgs.contains(manager) {
                    packages.byManager[manager] = try pkgs.stringArray(manager) ?? []
                }
            }
            if case .limited(_, false, _) = networking, !packages.isEmpty {
                throw APIError.invalidRequest(
                    "\(field).packages: under limited networking, packages require networking.allow_package_managers to be true")
            }
            return .cloud(networking: networking, packages: packages)
        case let other:
            throw APIError.invalidRequest("\(reader.field("type")): must be 'cloud' or 'self_hosted', got '\(other)'")
        }
    }
}

/// A parsed environment create or update body.
public struct EnvironmentRequest: Sendable {
    public var name: String?
    public var description: Patch<String>
    public var configValue: JSONValue?
    public var metadata: JSONValue?
    public var scope: Patch<String>

    public init(_ reader: ObjectReader, creating: Bool) throws(APIError) {
        try reader.rejectUnknown(["name", "description", "config", "metadata", "scope"])
        name = try reader.string("name")
        if let name {
            try Rules.length(name, reader.field("name"), min: 1, max: 256)
        } else if creating {
            throw APIError.invalidRequest("name: required")
        }
        description = try reader.stringPatch("description")
        if let text = description.value { try Rules.length(text, reader.field("description"), max: 2048) }
        configValue = reader.raw("config").value
        metadata = reader.members["metadata"]
        scope = try reader.stringPatch("scope")
        if let scope = scope.value, scope != "organization" {
            throw APIError.invalidRequest("scope: must be 'organization' (Reverie has no per-account scope)")
        }
    }

    /// A new environment from a create request.
    public func makeEnvironment(id: String, now: Date) throws(APIError) -> Environment {
        let config = try configValue.map { value throws(APIError) in try EnvironmentConfig.parse(value, at: FieldPath("config"), current: nil) }
        return Environment(
            id: id, name: name ?? "", description: description.value, config: config ?? .standard,
            metadata: try Metadata.parse(metadata, at: FieldPath("metadata")), scope: scope.value ?? "organization",
            createdAt: now, updatedAt: now)
    }

    /// `current` with this update applied.
    public func applied(to current: Environment, now: Date) throws(APIError) -> Environment {
        var next = current
        if let name { next.name = name }
        next.description = description.applied(to: current.description)
        if let configValue {
            next.config = try EnvironmentConfig.parse(configValue, at: FieldPath("config"), current: current.config)
        }
        next.metadata = try Metadata.applyPatch(metadata, to: current.metadata, at: FieldPath("metadata"), emptyDeletes: true)
        if case .value(let scope) = scope { next.scope = scope }
        if next != current { next.updatedAt = now }
        return next
    }
}
