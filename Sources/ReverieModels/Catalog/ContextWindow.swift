/// How many tokens a model can take in one request, and when the runtime compacts a thread's
/// conversation to stay under it.
public struct ContextWindow: Sendable, Equatable {
    /// The window, in tokens (input and output of one request together).
    public var tokens: Int
    /// The share of the window at which compaction starts (0.8: before a request whose input
    /// would take more than 80% of the window).
    public var compactionThreshold: Double

    public static let defaultCompactionThreshold = 0.8
    /// The window assumed for models Reverie does not know and no route describes.
    public static let defaultTokens = 128_000

    public init(tokens: Int, compactionThreshold: Double = ContextWindow.defaultCompactionThreshold) {
        self.tokens = max(1, tokens)
        self.compactionThreshold = min(1, max(0.05, compactionThreshold))
    }

    /// Input tokens above which the conversation is compacted before the next request.
    public var compactionLimit: Int { Int(Double(tokens) * compactionThreshold) }

    /// The window of a model by its name: Claude models have 200,000 tokens; some OpenAI
    /// models are known; everything else gets `defaultTokens` (set `context_window` on the
    /// route for local models with smaller windows).
    public static func known(for model: String) -> ContextWindow {
        let name = model.split(separator: "/").last.map(String.init) ?? model
        for (prefix, tokens) in knownPrefixes where name.hasPrefix(prefix) {
            return ContextWindow(tokens: tokens)
        }
        return ContextWindow(tokens: defaultTokens)
    }

    /// Longest prefixes first.
    static let knownPrefixes: [(String, Int)] = [
        ("claude-", 200_000),
        ("gpt-4.1", 1_047_576),
        ("gpt-4o", 128_000),
        ("gpt-4-turbo", 128_000),
        ("gpt-5", 400_000),
        ("o1", 200_000),
        ("o3", 200_000),
        ("o4-mini", 200_000),
    ]
}
