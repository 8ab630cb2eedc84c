import Foundation

/// Where a lesson comes from: events of one input session, each quoted as the dreamer read it.
public struct Evidence: Sendable, Equatable, Hashable, Codable {
    public var sessionID: String
    public var eventIDs: [String]
    /// The cited events as the dream's digest showed them (secrets redacted), for reviewers.
    public var quotes: [EvidenceQuote]

    public init(sessionID: String, eventIDs: [String], quotes: [EvidenceQuote] = []) {
        self.sessionID = sessionID
        self.eventIDs = eventIDs
        self.quotes = quotes
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sessionID = try container.decode(String.self, forKey: .sessionID)
        eventIDs = try container.decode([String].self, forKey: .eventIDs)
        quotes = try container.decodeIfPresent([EvidenceQuote].self, forKey: .quotes) ?? []
    }

    enum CodingKeys: String, CodingKey {
        case quotes
        case sessionID = "session_id"
        case eventIDs = "event_ids"
    }
}

/// One cited event, quoted.
public struct EvidenceQuote: Sendable, Equatable, Hashable, Codable {
    public var eventID: String
    public var text: String

    public init(eventID: String, text: String) {
        self.eventID = eventID
        self.text = text
    }

    enum CodingKeys: String, CodingKey {
        case text
        case eventID = "event_id"
    }
}

/// A lesson the model proposed while reading digests.
public struct LessonCandidate: Sendable, Equatable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case mistake, workflow, preference
        case toolQuirk = "tool_quirk"
        case fact
    }

    public var kind: Kind
    public var text: String
    public var evidence: [Evidence]

    public init(kind: Kind, text: String, evidence: [Evidence]) {
        self.kind = kind
        self.text = text
        self.evidence = evidence
    }
}

/// One change a dream makes to the output store: the unit a person reviews.
public struct DreamOperation: Sendable, Equatable, Codable {
    public enum Action: String, Sendable, Codable {
        case add, update, delete, keep
    }

    /// Review state of an applied operation.
    public enum Review: String, Sendable, Codable {
        case pending, accepted, rejected

        /// The review state a decision (`accept`, `reject`) leads to.
        public init?(decision: String) {
            switch decision {
            case "accept": self = .accepted
            case "reject": self = .rejected
            default: return nil
            }
        }
    }

    /// Stable within a dream (`op_1`, `op_2`, …).
    public var id: String
    public var action: Action
    public var path: String
    /// The new content (add, update); nil for delete and keep.
    public var content: String?
    /// The content before the change (update, delete), so a rejection can restore it.
    public var previousContent: String?
    public var rationale: String
    public var evidence: [Evidence]
    public var review: Review
    /// Why the dream held this operation back instead of applying it (withheld operations
    /// only): it is written to the output store only if a reviewer accepts it.
    public var heldBecause: String?

    public init(id: String, action: Action, path: String, content: String?, previousContent: String? = nil, rationale: String,
                evidence: [Evidence], review: Review = .pending, heldBecause: String? = nil) {
        self.id = id
        self.action = action
        self.path = path
        self.content = content
        self.previousContent = previousContent
        self.rationale = rationale
        self.evidence = evidence
        self.review = review
        self.heldBecause = heldBecause
    }

    enum CodingKeys: String, CodingKey {
        case id, action, path, content, rationale, evidence, review
        case previousContent = "previous_content"
        case heldBecause = "held_because"
    }
}

/// A proposal the dream's own code refused, and why.
public struct RefusedOperation: Sendable, Equatable, Codable {
    public var action: String
    public var path: String
    public var reason: String
    public var content: String?

    public init(action: String, path: String, reason: String, content: String? = nil) {
        self.action = action
        self.path = path
        self.reason = reason
        self.content = content
    }
}

/// A memory as the curator sees it.
public struct ExistingMemory: Sendable, Equatable {
    public var path: String
    public var content: String
    public var pinned: Bool

    public init(path: String, content: String, pinned: Bool) {
        self.path = path
        self.content = content
        self.pinned = pinned
    }
}
