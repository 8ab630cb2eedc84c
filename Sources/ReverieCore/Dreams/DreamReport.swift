import Foundation

/// Transcript text a dream withheld because it tried to instruct the dreamer, listed for review.
public struct QuarantinedText: Sendable, Equatable, Codable {
    public var sessionID: String
    public var eventID: String
    public var text: String

    public init(sessionID: String, eventID: String, text: String) {
        self.sessionID = sessionID
        self.eventID = eventID
        self.text = text
    }

    enum CodingKeys: String, CodingKey {
        case text
        case sessionID = "session_id"
        case eventID = "event_id"
    }
}

/// How a dream read its input sessions: sizes before and after digesting, and which
/// sessions were summarised harder or left out to fit the token budget.
public struct DreamReadingStats: Sendable, Equatable, Codable {
    public var sessions: Int
    /// Characters of the raw event logs (their JSON).
    public var rawCharacters: Int
    /// Characters of the digests sent to the model.
    public var digestCharacters: Int
    /// Sessions summarised harder than normal, with the compression level used.
    public var compressed: [String: Int]
    /// Sessions left out because even their most compact digests did not fit the budget.
    public var omitted: [String]
    /// Model calls made for extraction (one per chunk of digests).
    public var extractCalls: Int

    public init(sessions: Int = 0, rawCharacters: Int = 0, digestCharacters: Int = 0, compressed: [String: Int] = [:], omitted: [String] = [],
                extractCalls: Int = 0) {
        self.sessions = sessions
        self.rawCharacters = rawCharacters
        self.digestCharacters = digestCharacters
        self.compressed = compressed
        self.omitted = omitted
        self.extractCalls = extractCalls
    }

    enum CodingKeys: String, CodingKey {
        case sessions, compressed, omitted
        case rawCharacters = "raw_characters"
        case digestCharacters = "digest_characters"
        case extractCalls = "extract_calls"
    }
}

/// What a dream did and why: every operation it applied (with rationale, evidence and review
/// state), every operation it held back for a reviewer, every proposal its own code refused,
/// and what its guards withheld from the dreamer. Served at `GET /v1/dreams/{id}/report`
/// (a Reverie extension, also as Markdown); it is kept with the dream, never written into a
/// memory store.
public struct DreamReport: Sendable, Equatable, Codable {
    public var dreamID: String
    public var outputStoreID: String?
    /// Applied to the output store; a reviewer may reject (revert) each.
    public var operations: [DreamOperation]
    /// Held back (`wh_…`): content that reads as an instruction, or a change to a pinned memory
    /// the session user asked for. Written to the output store only when a reviewer accepts it.
    public var withheld: [DreamOperation]
    public var refused: [RefusedOperation]
    /// Transcript text withheld from the dreamer because it read as an instruction.
    public var quarantinedTranscript: [QuarantinedText]
    /// Lessons the extraction proposed (before curation).
    public var candidates: Int
    /// Lessons dropped because their evidence did not cite real events of the input sessions.
    public var candidatesWithoutEvidence: Int
    public var reading: DreamReadingStats
    /// Secrets redacted from what the dream wrote.
    public var secretsRedacted: Int
    /// Set once the dream's output was promoted into its input store.
    public var promotion: DreamPromotion?

    public init(dreamID: String, outputStoreID: String? = nil, operations: [DreamOperation] = [], withheld: [DreamOperation] = [],
                refused: [RefusedOperation] = [], quarantinedTranscript: [QuarantinedText] = [], candidates: Int = 0,
                candidatesWithoutEvidence: Int = 0, reading: DreamReadingStats = DreamReadingStats(), secretsRedacted: Int = 0,
                promotion: DreamPromotion? = nil) {
        self.dreamID = dreamID
        self.outputStoreID = outputStoreID
        self.operations = operations
        self.withheld = withheld
        self.refused = refused
        self.quarantinedTranscript = quarantinedTranscript
        self.candidates = candidates
        self.candidatesWithoutEvidence = candidatesWithoutEvidence
        self.reading = reading
        self.secretsRedacted = secretsRedacted
        self.promotion = promotion
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        dreamID = try container.decode(String.self, forKey: .dreamID)
        outputStoreID = try container.decodeIfPresent(String.self, forKey: .outputStoreID)
        operations = try container.decodeIfPresent([DreamOperation].self, forKey: .operations) ?? []
        withheld = try container.decodeIfPresent([DreamOperation].self, forKey: .withheld) ?? []
        refused = try container.decodeIfPresent([RefusedOperation].self, forKey: .refused) ?? []
        quarantinedTranscript = try container.decodeIfPresent([QuarantinedText].self, forKey: .quarantinedTranscript) ?? []
        candidates = try container.decodeIfPresent(Int.self, forKey: .candidates) ?? 0
        candidatesWithoutEvidence = try container.decodeIfPresent(Int.self, forKey: .candidatesWithoutEvidence) ?? 0
        reading = try container.decodeIfPresent(DreamReadingStats.self, forKey: .reading) ?? DreamReadingStats()
        secretsRedacted = try container.decodeIfPresent(Int.self, forKey: .secretsRedacted) ?? 0
        promotion = try container.decodeIfPresent(DreamPromotion.self, forKey: .promotion)
    }

    enum CodingKeys: String, CodingKey {
        case operations, withheld, refused, candidates, reading, promotion
        case dreamID = "dream_id"
        case outputStoreID = "output_store_id"
        case quarantinedTranscript = "quarantined_transcript"
        case candidatesWithoutEvidence = "candidates_without_evidence"
        case secretsRedacted = "secrets_redacted"
    }

    /// The applied or withheld operation with this id.
    public func operation(id: String) -> DreamOperation? {
        operations.first { $0.id == id } ?? withheld.first { $0.id == id }
    }
}

/// How a dream's output was put in place of its input store.
public struct DreamPromotion: Sendable, Equatable, Codable {
    public enum Strategy: String, Sendable, Codable, CaseIterable {
        /// The dream's accepted and pending operations are replayed onto the input store.
        case apply
        /// The input store's memories become exactly the output store's.
        case replace
    }

    public var strategy: Strategy
    public var memoryStoreID: String
    /// The paths the promotion changed in the input store.
    public var changedPaths: [String]
    public var promotedAt: Date

    public init(strategy: Strategy, memoryStoreID: String, changedPaths: [String], promotedAt: Date) {
        self.strategy = strategy
        self.memoryStoreID = memoryStoreID
        self.changedPaths = changedPaths
        self.promotedAt = promotedAt
    }

    enum CodingKeys: String, CodingKey {
        case strategy
        case memoryStoreID = "memory_store_id"
        case changedPaths = "changed_paths"
        case promotedAt = "promoted_at"
    }
}
