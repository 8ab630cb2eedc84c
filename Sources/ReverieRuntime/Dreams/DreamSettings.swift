/// How dreams run on this server.
public struct DreamSettings: Sendable, Equatable {
    /// Limits the dream's own code enforces on what the model proposes.
    public var rules: CurationRules
    /// Tokens of digests in one extraction call.
    public var chunkTokens: Int
    /// `max_tokens` of an extraction call.
    public var extractMaxTokens: Int
    /// `max_tokens` of the curation call.
    public var curateMaxTokens: Int
    /// Dreams running at once; more wait as `pending`.
    public var maxConcurrentDreams: Int
    /// How often dream policies are checked (new sessions, cron times, finished dreams and evaluations).
    public var policyCheckInterval: Duration

    public init(rules: CurationRules = CurationRules(), chunkTokens: Int = 24_000, extractMaxTokens: Int = 4096, curateMaxTokens: Int = 8192,
                maxConcurrentDreams: Int = 2, policyCheckInterval: Duration = .seconds(15)) {
        self.policyCheckInterval = policyCheckInterval
        self.rules = rules
        self.chunkTokens = chunkTokens
        self.extractMaxTokens = extractMaxTokens
        self.curateMaxTokens = curateMaxTokens
        self.maxConcurrentDreams = max(1, maxConcurrentDreams)
    }
}

/// Why a dream failed, as recorded in its `error`.
public struct DreamFailure: Error, Sendable, Equatable {
    public var type: String
    public var message: String

    public init(_ type: String, _ message: String) {
        self.type = type
        self.message = message
    }

    /// The token budget ran out before the dream could finish.
    static func budget(_ message: String) -> DreamFailure { DreamFailure("budget_exceeded_error", message) }
    /// The dreamer model's reply could not be used.
    static func unreadable(_ message: String) -> DreamFailure { DreamFailure("model_response_error", message) }
}
