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
/// state), every proposal its own code refused, and what its guards withheld. Served at
/// `GET /v1/dreams/{id}/report` (a Reverie extension) and written as Markdown into the
/// output store.
public struct DreamReport: Sendable, Equatable, Codable {
    public var dreamID: String
    public var outputStoreID: String?
    public var operations: [DreamOperation]
    public var refused: [RefusedOperation]
    /// Proposed memory content withheld because it read as an instruction.
    public var quarantinedProposals: [RefusedOperation]
    /// Transcript text withheld from the dreamer because it read as an instruction.
    public var quarantinedTranscript: [QuarantinedText]
    /// Lessons the extraction proposed (before curation).
    public var candidates: Int
    /// Lessons dropped because their evidence did not cite real events of the input sessions.
    public var candidatesWithoutEvidence: Int
    public var reading: DreamReadingStats
    /// Secrets redacted from what the dream wrote.
    public var secretsRedacted: Int

    public init(dreamID: String, outputStoreID: String? = nil, operations: [DreamOperation] = [], refused: [RefusedOperation] = [],
                quarantinedProposals: [RefusedOperation] = [], quarantinedTranscript: [QuarantinedText] = [], candidates: Int = 0,
                candidatesWithoutEvidence: Int = 0, reading: DreamReadingStats = DreamReadingStats(), secretsRedacted: Int = 0) {
        self.dreamID = dreamID
        self.outputStoreID = outputStoreID
        self.operations = operations
        self.refused = refused
        self.quarantinedProposals = quarantinedProposals
        self.quarantinedTranscript = quarantinedTranscript
        self.candidates = candidates
        self.candidatesWithoutEvidence = candidatesWithoutEvidence
        self.reading = reading
        self.secretsRedacted = secretsRedacted
    }

    enum CodingKeys: String, CodingKey {
        case operations, refused, candidates, reading
        case dreamID = "dream_id"
        case outputStoreID = "output_store_id"
        case quarantinedProposals = "quarantined_proposals"
        case quarantinedTranscript = "quarantined_transcript"
        case candidatesWithoutEvidence = "candidates_without_evidence"
        case secretsRedacted = "secrets_redacted"
    }
}
