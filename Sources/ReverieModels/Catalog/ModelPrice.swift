/// A model's list price, in US dollars per million tokens, from which a session's list cost
/// (and its budget) is counted.
public struct ModelPrice: Sendable, Equatable {
    public var inputPerMillion: Double
    public var outputPerMillion: Double
    public var cacheReadPerMillion: Double
    public var cacheWritePerMillion: Double

    /// Cache reads default to a tenth of the input price, cache writes (five-minute) to 1.25×.
    public init(inputPerMillion: Double, outputPerMillion: Double, cacheReadPerMillion: Double? = nil, cacheWritePerMillion: Double? = nil) {
        self.inputPerMillion = inputPerMillion
        self.outputPerMillion = outputPerMillion
        self.cacheReadPerMillion = cacheReadPerMillion ?? inputPerMillion * 0.1
        self.cacheWritePerMillion = cacheWritePerMillion ?? inputPerMillion * 1.25
    }

    /// The cost of one call's tokens, in millionths of a dollar (rounded up).
    public func micros(for usage: TokenUsage) -> Int64 {
        let dollarsPerMillion = Double(usage.inputTokens) * inputPerMillion + Double(usage.outputTokens) * outputPerMillion
            + Double(usage.cacheReadInputTokens) * cacheReadPerMillion + Double(usage.cacheCreationInputTokens) * cacheWritePerMillion
        // tokens × $/Mtok = micro-dollars; rounded up, less a hair of floating-point noise.
        return Int64((dollarsPerMillion - 1e-6).rounded(.up))
    }

    /// Anthropic's public list prices of Claude models by name (longest prefix first); nil
    /// for models Reverie has no price for (set `price` on their route).
    public static func known(for model: String) -> ModelPrice? {
        let name = model.split(separator: "/").last.map(String.init) ?? model
        for (prefix, input, output) in knownPrefixes where name.hasPrefix(prefix) {
            return ModelPrice(inputPerMillion: input, outputPerMillion: output)
        }
        return nil
    }

    static let knownPrefixes: [(String, Double, Double)] = [
        ("claude-opus-4-5", 5, 25),
        ("claude-opus-4", 15, 75),
        ("claude-sonnet-4", 3, 15),
        ("claude-3-7-sonnet", 3, 15),
        ("claude-haiku-4", 1, 5),
        ("claude-3-5-haiku", 0.8, 4),
        ("claude-3-haiku", 0.25, 1.25),
    ]
}
