import Foundation

/// Limits on a deployment's parts, as the SDK documents them.
public enum DeploymentLimits {
    public static let maxInitialEvents = 50
    public static let maxResources = 500
    public static let maxVaults = 50
    public static let maxNameLength = 256
    public static let maxDescriptionLength = 2048
    /// The initial events a deployment may start its sessions with.
    public static let initialEventTypes: Set<EventType> = [.userMessage, .userDefineOutcome, .systemMessage]
}

/// A parsed `POST /v1/deployments` body. References (agent, environment, resources) are
/// checked against what exists by `DeploymentService`.
public struct DeploymentCreateRequest: Sendable {
    public var name: String
    public var description: String?
    public var agent: AgentReferenceReference
    public var environmentID: String
    public var initialEvents: [JSONValue]
    public var resources: [JSONValue]
    public var vaultIDs: [String]
    public var budget: SessionBudget?
    public var metadata: [String: String]
    public var schedule: DeploymentSchedule?

    public init(_ body: ObjectReader, now: Date = Date()) throws(APIError) {
        try body.rejectUnknown([
            "name", "description", "agent", "environment_id", "initial_events", "resources", "vault_ids", "budget", "metadata", "schedule",
        ])
        name = try DeploymentFields.name(body)
        description = try DeploymentFields.description(body).value
        guard case .value(let agentValue) = body.raw("agent") else { throw APIError.invalidRequest("agent: required") }
        agent = try AgentReferenceReference(agentValue, at: body.field("agent"))
        environmentID = try body.requiredString("environment_id")
        guard let events = try DeploymentFields.initialEvents(body) else { throw APIError.invalidRequest("initial_events: required") }
        initialEvents = events
        resources = try DeploymentFields.resources(body) ?? []
        vaultIDs = try DeploymentFields.vaultIDs(body) ?? []
        budget = try DeploymentFields.budget(body).value
        metadata = try Metadata.parse(body.members["metadata"], at: body.field("metadata"))
        schedule = try DeploymentFields.schedule(body, now: now).value
    }
}

/// A parsed `POST /v1/deployments/{id}` body: every member may be omitted (kept as is).
public struct DeploymentUpdateRequest: Sendable {
    public var name: String?
    public var description: Patch<String>
    public var agent: AgentReferenceReference?
    public var environmentID: String?
    public var initialEvents: [JSONValue]?
    /// `.null` (or an empty list) clears.
    public var resources: Patch<[JSONValue]>
    public var vaultIDs: Patch<[String]>
    public var budget: Patch<SessionBudget>
    /// The metadata patch as sent (keys set to null are removed).
    public var metadata: JSONValue?
    public var schedule: Patch<DeploymentSchedule>

    public init(_ body: ObjectReader, now: Date = Date()) throws(APIError) {
        try body.rejectUnknown([
            "name", "description", "agent", "environment_id", "initial_events", "resources", "vault_ids", "budget", "metadata", "schedule",
        ])
        for key in ["name", "agent", "environment_id", "initial_events"] where body.raw(key).isNull {
            throw APIError.invalidRequest("\(body.field(key)): cannot be cleared; omit it to keep the current value")
        }
        name = body.contains("name") ? try DeploymentFields.name(body) : nil
        description = try DeploymentFields.description(body)
        if case .value(let agentValue) = body.raw("agent") { agent = try AgentReferenceReference(agentValue, at: body.field("agent")) }
        environmentID = try body.string("environment_id")
        initialEvents = try DeploymentFields.initialEvents(body)
        switch body.raw("resources") {
        case .absent: resources = .absent
        case .null: resources = .null
        case .value: resources = .value(try DeploymentFields.resources(body) ?? [])
        }
        switch body.raw("vault_ids") {
        case .absent: vaultIDs = .absent
        case .null: vaultIDs = .null
        case .value: vaultIDs = .value(try DeploymentFields.vaultIDs(body) ?? [])
        }
        budget = try DeploymentFields.budget(body)
        metadata = body.members["metadata"]
        schedule = try DeploymentFields.schedule(body, now: now)
    }
}

/// A deployment's `agent`: an agent id (its latest version at the time) or `{type: "agent", id, version}`.
public struct AgentReferenceReference: Sendable, Equatable {
    public var id: String
    public var version: Int?

    public init(_ value: JSONValue, at field: FieldPath) throws(APIError) {
        if case .string(let text) = value {
            guard !text.isEmpty else { throw APIError.invalidRequest("\(field): must not be empty") }
            id = text
            return
        }
        let reader = try ObjectReader(value, at: field)
        try reader.rejectUnknown(["type", "id", "version"])
        if let type = try reader.string("type"), type != "agent" { throw APIError.invalidRequest("\(reader.field("type")): must be 'agent'") }
        id = try reader.requiredString("id")
        guard let version = try reader.int("version") else {
            throw APIError.invalidRequest("\(reader.field("version")): required (send the agent id as a string to pin the latest version)")
        }
        guard version >= 1 else { throw APIError.invalidRequest("\(reader.field("version")): must be at least 1") }
        self.version = version
    }
}

/// The members create and update share.
enum DeploymentFields {
    static func name(_ body: ObjectReader) throws(APIError) -> String {
        let name = try body.requiredString("name")
        try Rules.length(name, body.field("name"), min: 1, max: DeploymentLimits.maxNameLength)
        return name
    }

    static func description(_ body: ObjectReader) throws(APIError) -> Patch<String> {
        let patch = try body.stringPatch("description")
        if case .value(let text) = patch {
            if text.isEmpty { return .null }
            try Rules.length(text, body.field("description"), max: DeploymentLimits.maxDescriptionLength)
        }
        return patch
    }

    static func initialEvents(_ body: ObjectReader) throws(APIError) -> [JSONValue]? {
        guard let values = try body.array("initial_events") else { return nil }
        try Rules.count(values, body.field("initial_events"), min: 1, max: DeploymentLimits.maxInitialEvents)
        _ = try UserEventRequest.parse(values, at: body.field("initial_events"), allowedTypes: DeploymentLimits.initialEventTypes)
        return values
    }

    static func resources(_ body: ObjectReader) throws(APIError) -> [JSONValue]? {
        guard let values = try body.array("resources") else { return nil }
        try Rules.count(values, body.field("resources"), max: DeploymentLimits.maxResources)
        _ = try MemoryMountRequest.parse(values, at: body.field("resources"))
        _ = try FileMountRequest.parse(values, at: body.field("resources"))
        return values
    }

    static func vaultIDs(_ body: ObjectReader) throws(APIError) -> [String]? {
        guard let ids = try body.stringArray("vault_ids") else { return nil }
        try Rules.count(ids, body.field("vault_ids"), max: DeploymentLimits.maxVaults)
        return ids
    }

    static func budget(_ body: ObjectReader) throws(APIError) -> Patch<SessionBudget> {
        switch body.raw("budget") {
        case .absent: .absent
        case .null: .null
        case .value(let value): .value(try SessionBudget.parse(value, at: body.field("budget")))
        }
    }

    static func schedule(_ body: ObjectReader, now: Date) throws(APIError) -> Patch<DeploymentSchedule> {
        switch body.raw("schedule") {
        case .absent: .absent
        case .null: .null
        case .value(let value): .value(try DeploymentSchedule.parse(value, at: body.field("schedule"), now: now))
        }
    }
}
