import Foundation
import ReverieCore

/// The limits a dream's own code enforces on what the model proposes.
public struct CurationRules: Sendable, Equatable {
    /// Two memories at least this similar (0…1) are duplicates and are merged.
    public var duplicateThreshold: Double
    /// Most memories the output store may hold.
    public var maxMemories: Int
    /// Most bytes of content the output store may hold.
    public var maxStoreBytes: Int
    /// Deleting more than this share of the store in one dream is refused as a collapse.
    public var maxDeleteShare: Double

    public init(duplicateThreshold: Double = 0.8, maxMemories: Int = 200, maxStoreBytes: Int = 512 * 1024, maxDeleteShare: Double = 0.5) {
        self.duplicateThreshold = duplicateThreshold
        self.maxMemories = maxMemories
        self.maxStoreBytes = maxStoreBytes
        self.maxDeleteShare = maxDeleteShare
    }

    /// Paths under this prefix are reserved for Reverie; dreams never write there.
    public static let reservedPrefix = "/reverie/"

    /// Most characters of one quoted event in a report's evidence.
    static let quoteLimit = 400
}

/// Turns the curator model's proposals into the operations a dream applies, enforcing:
/// evidence cites real events of the input sessions; pinned memories are never touched;
/// paths are valid; secrets are redacted and instruction-like content is withheld for review;
/// exact and near duplicates are merged; the store-size budget holds; and a dream that
/// would delete too much of the store at once has its deletions refused as a collapse. A
/// change to a pinned memory is refused unless the session user's own words are among its
/// evidence: then it is withheld for a person to decide, not dropped.
public struct OperationValidator: Sendable {
    public struct Result: Sendable, Equatable {
        public var operations: [DreamOperation]
        public var refused: [RefusedOperation]
        /// Operations held back for a reviewer (`wh_…`), applied only if accepted.
        public var withheld: [DreamOperation]
    }

    let rules: CurationRules
    let existing: [ExistingMemory]
    /// Digests by session label and by session id.
    let digests: [String: SessionDigest]

    public init(rules: CurationRules, existing: [ExistingMemory], digests: [SessionDigest]) {
        self.rules = rules
        self.existing = existing
        var index: [String: SessionDigest] = [:]
        for digest in digests {
            index[digest.label] = digest
            index[digest.sessionID] = digest
        }
        self.digests = index
    }

    /// Resolves model-written evidence to real session and event ids; nil if any citation is not real.
    public func resolve(_ raw: [(session: String, events: [String])]) -> [Evidence]? {
        var result: [Evidence] = []
        for item in raw {
            guard let digest = digests[item.session], !item.events.isEmpty else { return nil }
            var ids: [String] = []
            for reference in item.events {
                guard let id = digest.eventID(for: reference) else { return nil }
                if !ids.contains(id) { ids.append(id) }
            }
            let quotes = ids.map { EvidenceQuote(eventID: $0, text: SessionDigester.cut(digest.quote(of: $0), limit: CurationRules.quoteLimit)) }
            result.append(Evidence(sessionID: digest.sessionID, eventIDs: ids, quotes: quotes))
        }
        return result
    }

    public func validate(_ proposals: JSONValue?) -> Result {
        var refused: [RefusedOperation] = []
        var withheld: [DreamOperation] = []
        var store: [String: ExistingMemory] = Dictionary(existing.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        var planned: [DreamOperation] = []

        for proposal in proposals?["operations"]?.arrayValue ?? [] {
            let actionText = proposal["op"]?.stringValue ?? proposal["action"]?.stringValue ?? ""
            let path = proposal["path"]?.stringValue ?? ""
            let rationale = TranscriptGuard.redactSecrets(proposal["rationale"]?.stringValue ?? "")
            guard let action = DreamOperation.Action(rawValue: actionText) else {
                refused.append(RefusedOperation(action: actionText, path: path, reason: "unknown operation '\(actionText)'"))
                continue
            }
            if action == .keep { continue }
            if let problem = Self.pathProblem(path) {
                refused.append(RefusedOperation(action: actionText, path: path, reason: "invalid path: \(problem)"))
                continue
            }
            if path.hasPrefix(CurationRules.reservedPrefix) {
                refused.append(RefusedOperation(action: actionText, path: path, reason: "paths under /reverie/ are reserved for Reverie"))
                continue
            }
            guard let evidence = resolve(DreamPrompts.rawEvidence(proposal["evidence"])), !evidence.isEmpty else {
                refused.append(RefusedOperation(
                    action: actionText, path: path, reason: "evidence is missing or cites events that are not in the input sessions"))
                continue
            }
            if let current = store[path], current.pinned {
                // Dreams never change a pinned memory on their own; when the session user asked
                // for the change, a person decides.
                let content = proposal["content"]?.stringValue.map(TranscriptGuard.redactSecrets)
                let userCited = evidence.contains { item in
                    item.eventIDs.contains { digests[item.sessionID]?.isByUser($0) == true }
                }
                if userCited, action == .delete || !(content ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                    !withheld.contains(where: { $0.path == path })
                {
                    withheld.append(DreamOperation(
                        id: "", action: action == .delete ? .delete : .update, path: path, content: action == .delete ? nil : content,
                        previousContent: current.content, rationale: rationale, evidence: evidence,
                        heldBecause: "the session user's own words conflict with this pinned memory; a person decides"))
                } else {
                    refused.append(RefusedOperation(action: actionText, path: path, reason: "the memory is pinned; dreams never change pinned memories"))
                }
                continue
            }
            if planned.contains(where: { $0.path == path }) {
                refused.append(RefusedOperation(action: actionText, path: path, reason: "the dream already changes this path"))
                continue
            }
            switch action {
            case .add, .update:
                guard var content = proposal["content"]?.stringValue, !content.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                    refused.append(RefusedOperation(action: actionText, path: path, reason: "no content"))
                    continue
                }
                if TranscriptGuard.looksLikeInjection(content) {
                    withheld.append(DreamOperation(
                        id: "", action: store[path] == nil ? .add : .update, path: path, content: TranscriptGuard.redactSecrets(content),
                        previousContent: store[path]?.content, rationale: rationale, evidence: evidence,
                        heldBecause: "the content reads as an instruction to the dreamer"))
                    continue
                }
                content = TranscriptGuard.redactSecrets(content)
                if content.utf8.count > 100 * 1024 {
                    refused.append(RefusedOperation(action: actionText, path: path, reason: "content exceeds 100 KiB"))
                    continue
                }
                let previous = store[path]
                if action == .update, previous == nil {
                    refused.append(RefusedOperation(action: actionText, path: path, reason: "no memory at this path to update"))
                    continue
                }
                if let previous, previous.content == content { continue }
                // Near-duplicates of another memory are merged into it instead of added.
                if previous == nil, let duplicate = store.values.sorted(by: { $0.path < $1.path }).first(where: {
                    TextSimilarity.similarity($0.content, content) >= rules.duplicateThreshold
                }) {
                    if duplicate.pinned || duplicate.content.count >= content.count {
                        refused.append(RefusedOperation(
                            action: actionText, path: path, reason: "near-duplicate of \(duplicate.path); merged into it (kept as is)"))
                        continue
                    }
                    if let index = planned.firstIndex(where: { $0.path == duplicate.path }) {
                        planned[index].content = content
                        planned[index].evidence = Self.merged(planned[index].evidence, evidence)
                    } else {
                        planned.append(DreamOperation(
                            id: "", action: .update, path: duplicate.path, content: content, previousContent: duplicate.content,
                            rationale: "merged near-duplicate proposed for \(path): \(rationale)", evidence: evidence))
                    }
                    store[duplicate.path]?.content = content
                    continue
                }
                planned.append(DreamOperation(
                    id: "", action: previous == nil ? .add : .update, path: path, content: content, previousContent: previous?.content,
                    rationale: rationale, evidence: evidence))
                store[path] = ExistingMemory(path: path, content: content, pinned: false)
            case .delete:
                guard let previous = store[path] else {
                    refused.append(RefusedOperation(action: actionText, path: path, reason: "no memory at this path to delete"))
                    continue
                }
                planned.append(DreamOperation(
                    id: "", action: .delete, path: path, content: nil, previousContent: previous.content, rationale: rationale, evidence: evidence))
                store[path] = nil
            case .keep:
                continue
            }
        }

        // A dream may not delete most of the store at once.
        let deletions = planned.filter { $0.action == .delete }
        if !existing.isEmpty, Double(deletions.count) > rules.maxDeleteShare * Double(existing.count) {
            for deletion in deletions {
                refused.append(RefusedOperation(
                    action: "delete", path: deletion.path,
                    reason: "collapse refused: the dream proposed deleting \(deletions.count) of \(existing.count) memories (more than \(Int(rules.maxDeleteShare * 100))%)"))
                store[deletion.path] = existing.first { $0.path == deletion.path }
            }
            planned.removeAll { $0.action == .delete }
        }

        // The store-size budget: refuse the latest additions until it holds.
        func overBudget() -> Bool {
            store.count > rules.maxMemories || store.values.reduce(0) { $0 + $1.content.utf8.count } > rules.maxStoreBytes
        }
        while overBudget(), let index = planned.lastIndex(where: { $0.action == .add }) {
            let addition = planned.remove(at: index)
            store[addition.path] = nil
            refused.append(RefusedOperation(action: "add", path: addition.path, reason: "the store-size budget would be exceeded"))
        }

        for index in planned.indices { planned[index].id = "op_\(index + 1)" }
        for index in withheld.indices { withheld[index].id = "wh_\(index + 1)" }
        return Result(operations: planned, refused: refused, withheld: withheld)
    }

    static func merged(_ a: [Evidence], _ b: [Evidence]) -> [Evidence] {
        var result = a
        for item in b {
            if let index = result.firstIndex(where: { $0.sessionID == item.sessionID }) {
                for id in item.eventIDs where !result[index].eventIDs.contains(id) { result[index].eventIDs.append(id) }
                for quote in item.quotes where !result[index].quotes.contains(quote) { result[index].quotes.append(quote) }
            } else {
                result.append(item)
            }
        }
        return result
    }

    /// Why a memory path is invalid, or nil.
    static func pathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else { return "must start with /" }
        guard path.utf8.count <= 1024 else { return "longer than 1024 bytes" }
        guard path.precomposedStringWithCanonicalMapping == path else { return "not NFC-normalized" }
        let segments = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        for segment in segments {
            if segment.isEmpty { return "empty segment" }
            if segment == "." || segment == ".." { return "'.' and '..' segments are not allowed" }
        }
        if path.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }) {
            return "control or format characters"
        }
        return nil
    }
}
