/// The model an agent runs on: `{id, effort, inference_geo, speed}`.
///
/// `id` is free text: Reverie maps it to a configured provider (Anthropic, or any
/// OpenAI-compatible server), so it need not be a Claude model name.
public struct ModelConfig: Codable, Sendable, Equatable {
    public var id: String
    public var effort: Effort?
    public var inferenceGeo: String?
    public var speed: String?

    /// `{"type": "high"}` and friends.
    public struct Effort: Codable, Sendable, Equatable {
        public var type: String
        public init(type: String) { self.type = type }
    }

    public static let effortLevels: Set<String> = ["low", "medium", "high", "xhigh", "max"]
    public static let defaultEffort = "high"

    public init(id: String, effort: Effort? = Effort(type: ModelConfig.defaultEffort), inferenceGeo: String? = nil, speed: String? = "standard") {
        self.id = id
        self.effort = effort
        self.inferenceGeo = inferenceGeo
        self.speed = speed
    }

    enum CodingKeys: String, CodingKey {
        case id, effort, speed
        case inferenceGeo = "inference_geo"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(effort, forKey: .effort)
        try container.encode(inferenceGeo, forKey: .inferenceGeo)
        try container.encode(speed, forKey: .speed)
    }

    /// Parses the request form: a bare model string or a `model_config` object.
    public static func parse(_ value: JSONValue, at field: FieldPath) throws(APIError) -> ModelConfig {
        if case .string(let id) = value {
            try Rules.length(id, field, min: 1, max: 256)
            return ModelConfig(id: id)
        }
        let reader = try ObjectReader(value, at: field)
        try reader.rejectUnknown(["id", "effort", "inference_geo", "speed", "type"])
        let id = try reader.requiredString("id")
        try Rules.length(id, reader.field("id"), min: 1, max: 256)
        var effort = Effort(type: defaultEffort)
        switch reader.raw("effort") {
        case .absent, .null: break
        case .value(.string(let level)):
            guard effortLevels.contains(level) else {
                throw APIError.invalidRequest("\(reader.field("effort")): must be one of low, medium, high, xhigh, max")
            }
            effort = Effort(type: level)
        case .value(let other):
            let effortReader = try ObjectReader(other, at: reader.field("effort"))
            let level = try effortReader.discriminator()
            guard effortLevels.contains(level) else {
                throw APIError.invalidRequest("\(effortReader.field("type")): must be one of low, medium, high, xhigh, max")
            }
            effort = Effort(type: level)
        }
        let speed = try reader.string("speed") ?? "standard"
        guard speed == "standard" || speed == "fast" else {
            throw APIError.invalidRequest("\(reader.field("speed")): must be 'standard' or 'fast'")
        }
        return ModelConfig(id: id, effort: effort, inferenceGeo: try reader.string("inference_geo"), speed: speed)
    }
}
