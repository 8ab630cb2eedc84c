/// The `imported` member of a session made from an existing transcript (a Reverie extension):
/// where it came from and how it ended. Such a session is read-only and never runs; see
/// docs/importing.md.
public struct SessionImport: Codable, Sendable, Equatable {
    /// The transcript's format (`claude-code`, `openai-chat`, `jsonl`, or a caller's own label).
    public var source: String
    /// The transcript's own identifier (a Claude Code `sessionId`, a log's id), if it had one.
    public var sourceID: String?
    /// Whether the work succeeded, when the transcript says.
    public var success: Bool?
    /// A numeric reward, when the transcript has one.
    public var reward: Double?

    public init(source: String, sourceID: String? = nil, success: Bool? = nil, reward: Double? = nil) {
        self.source = source
        self.sourceID = sourceID
        self.success = success
        self.reward = reward
    }

    enum CodingKeys: String, CodingKey {
        case source, success, reward
        case sourceID = "source_id"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        source = try container.decode(String.self, forKey: .source)
        sourceID = try container.decodeIfPresent(String.self, forKey: .sourceID)
        success = try container.decodeIfPresent(Bool.self, forKey: .success)
        reward = try container.decodeIfPresent(Double.self, forKey: .reward)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(source, forKey: .source)
        try container.encode(sourceID, forKey: .sourceID)
        try container.encode(success, forKey: .success)
        try container.encode(reward, forKey: .reward)
    }

    /// How the transcript says the work ended, in words (`succeeded`, `failed, reward 0.2`),
    /// or nil when it does not say.
    public var outcomeSummary: String? {
        var parts: [String] = []
        if let success { parts.append(success ? "succeeded" : "failed") }
        if let reward { parts.append("reward \(Self.format(reward))") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    static func format(_ number: Double) -> String {
        if number.rounded() == number, abs(number) < 1e15 { return String(Int64(number)) }
        return String(number)
    }
}
