import Foundation
import ReverieCore
import ReverieModels

/// The model stages of a dream — digest, extract, curate — ending in the plan of operations
/// (a `DreamReport`) that `DreamWriter` applies. The model proposes; this code validates:
/// evidence, pins, duplicates, size and collapse rules (`OperationValidator`), secrets and
/// instruction-like text (`TranscriptGuard`), and the token budget (`DreamBudget`).
public struct DreamPipeline: Sendable {
    let log: SessionLog
    let memory: MemoryService
    let provider: any ModelProvider
    let settings: DreamSettings

    public init(log: SessionLog, memory: MemoryService, provider: any ModelProvider, settings: DreamSettings = DreamSettings()) {
        self.log = log
        self.memory = memory
        self.provider = provider
        self.settings = settings
    }

    /// Reports progress: the stage entered, and the usage of each model call.
    public struct Observer: Sendable {
        public var stage: @Sendable (String) async throws -> Void
        public var usage: @Sendable (TokenUsage) async throws -> Void

        public init(stage: @escaping @Sendable (String) async throws -> Void = { _ in }, usage: @escaping @Sendable (TokenUsage) async throws -> Void = { _ in }) {
            self.stage = stage
            self.usage = usage
        }
    }

    /// Runs the stages and returns the plan.
    public func plan(_ dream: Dream, observer: Observer) async throws -> DreamReport {
        try await observer.stage("digest")
        let input = try await DreamInput.load(dream, log: log, memory: memory)
        var report = DreamReport(dreamID: dream.id)
        var budget = DreamBudget(total: dream.tokenBudget)

        // What curation will need at least: its prompt over the current store and its reply.
        let existingText = input.memories.reduce(0) { $0 + $1.path.utf8.count + $1.content.utf8.count + 40 }
        let toolTokens = { (tool: ToolDefinition) in Self.promptTokens(ModelRequest(model: "", messages: [], tools: [tool])) }
        let curateReserve = DreamBudget.estimate(DreamPrompts.curateSystem) + toolTokens(DreamerTool.operations) + (existingText + 3) / 4
            + settings.curateMaxTokens + DreamBudget.estimate(dream.instructions ?? "")
        let overhead = DreamBudget.estimate(DreamPrompts.extractSystem) + toolTokens(DreamerTool.lessons) + DreamBudget.estimate(dream.instructions ?? "")
            + settings.extractMaxTokens
        // Digests may use what is left after curation, minus each extraction call's own overhead.
        let digestRoom = max(0, budget.total - curateReserve)
        let chunkTokens = max(1, min(settings.chunkTokens, digestRoom - overhead))
        let calls = max(1, digestRoom / max(1, chunkTokens + overhead))
        let packer = DigestPacker(chunkTokens: chunkTokens, totalTokens: max(0, digestRoom - calls * overhead))
        let packing = packer.pack(sessionIDs: dream.sessionIDs) { id, level in input.digest(id, level: level) }
        let packed = packing.chunks.flatMap { $0 }
        report.reading = DreamReadingStats(
            sessions: dream.sessionIDs.count, rawCharacters: input.rawCharacters,
            digestCharacters: packed.reduce(0) { $0 + $1.text.count }, compressed: packing.compressed, omitted: packing.omitted)
        report.quarantinedTranscript = packed.flatMap(\.quarantined)
        guard !packed.isEmpty else {
            throw DreamFailure.budget("token_budget \(dream.tokenBudget) leaves no room for any session digest; raise it")
        }
        let validator = OperationValidator(rules: settings.rules, existing: input.memories, digests: packed)

        // Extract: candidate lessons per chunk of digests.
        try await observer.stage("extract")
        var candidates: [LessonCandidate] = []
        var omitted = packing.omitted
        for chunk in packing.chunks {
            try Task.checkCancellation()
            let request = DreamPrompts.extractRequest(
                model: dream.model, digests: chunk, instructions: dream.instructions, maxTokens: settings.extractMaxTokens)
            guard let reply = try await ask(request, tool: DreamerTool.lessons, budget: &budget, keeping: curateReserve, observer: observer) else {
                omitted += chunk.map(\.sessionID)
                continue
            }
            report.reading.extractCalls += 1
            for item in reply.answer?["candidates"]?.arrayValue ?? [] {
                report.candidates += 1
                guard let kind = item["kind"]?.stringValue.flatMap(LessonCandidate.Kind.init(rawValue:)),
                    let text = item["text"]?.stringValue, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
                    let evidence = validator.resolve(DreamPrompts.rawEvidence(item["evidence"])), !evidence.isEmpty
                else {
                    report.candidatesWithoutEvidence += 1
                    continue
                }
                let lesson = TranscriptGuard.redactSecrets(text)
                // The same lesson from several chunks is one candidate citing all of them.
                if let index = candidates.firstIndex(where: { $0.kind == kind && $0.text == lesson }) {
                    candidates[index].evidence = OperationValidator.merged(candidates[index].evidence, evidence)
                } else {
                    candidates.append(LessonCandidate(kind: kind, text: lesson, evidence: evidence))
                }
            }
        }
        report.reading.omitted = omitted.sorted()

        // Curate: delta operations against the current store, validated by code.
        try await observer.stage("curate")
        try Task.checkCancellation()
        let labels = Dictionary(packed.map { ($0.sessionID, $0.label) }, uniquingKeysWith: { first, _ in first })
        let request = DreamPrompts.curateRequest(
            model: dream.model, memories: input.memories, candidates: candidates, labels: labels, instructions: dream.instructions,
            maxTokens: settings.curateMaxTokens)
        guard Self.cost(request) <= budget.remaining else {
            throw DreamFailure.budget(
                "token_budget \(dream.tokenBudget) is exhausted before curation (it needs about \(Self.cost(request)) more tokens); raise it or dream over fewer sessions")
        }
        let reply = try await ask(request, tool: DreamerTool.operations, budget: &budget, keeping: 0, observer: observer)
        guard let proposals = reply?.answer, proposals["operations"]?.arrayValue != nil else {
            let problems = reply?.problems.prefix(3).joined(separator: "; ") ?? "no answer"
            throw DreamFailure.unreadable("the curation reply could not be used, even when asked again: \(problems)")
        }
        let result = validator.validate(proposals)
        report.operations = result.operations
        report.refused = result.refused
        report.withheld = result.withheld
        report.secretsRedacted = Self.countRedactions(in: proposals)
        return report
    }

    /// Asks the dreamer, and once more — told what was wrong — when the answer does not match
    /// the tool's schema. Nil when not even the first call fits the budget (leaving `reserve`
    /// tokens for what comes later); a retry that does not fit returns the first answer.
    private func ask(_ first: ModelRequest, tool: ToolDefinition, budget: inout DreamBudget, keeping reserve: Int, observer: Observer)
        async throws -> DreamerReply?
    {
        var request = first
        var read: DreamerReply?
        for attempt in 0..<2 {
            try Task.checkCancellation()
            let reserved = Self.cost(request)
            guard reserved + reserve <= budget.remaining else { return read }
            _ = budget.reserve(reserved)
            let reply = try await provider.complete(request)
            budget.settle(reserved: reserved, used: reply.usage.inputTokens + reply.usage.outputTokens)
            try await observer.usage(reply.usage)
            let answer = DreamerReply(reply.content, tool: tool)
            read = answer
            if answer.problems.isEmpty || attempt == 1 { break }
            request.messages += answer.correction(of: reply.content, tool: tool)
        }
        return read
    }

    /// Tokens a call may use: its prompt (estimated) and its longest reply.
    static func cost(_ request: ModelRequest) -> Int {
        promptTokens(request) + request.maxTokens
    }

    /// The estimated tokens of a request's prompt: its system prompt, tools and messages.
    public static func promptTokens(_ request: ModelRequest) -> Int {
        var prompt = request.system ?? ""
        for tool in request.tools {
            prompt += tool.name + tool.description + ((try? JSONCoding.string(tool.inputSchema)) ?? "")
        }
        for block in request.messages.flatMap(\.content) {
            switch block {
            case .text(let text): prompt += text
            case .toolUse(_, let name, let input): prompt += name + ((try? JSONCoding.string(input)) ?? "")
            case .toolResult(_, let content, _):
                for part in content { if case .text(let text) = part { prompt += text } }
            case .thinking(let text, _): prompt += text
            case .media: break
            }
        }
        return DreamBudget.estimate(prompt)
    }

    /// How many secrets the proposals held (they are redacted before anything is written).
    static func countRedactions(in proposals: JSONValue) -> Int {
        (proposals["operations"]?.arrayValue ?? []).reduce(0) { count, operation in
            let texts = [operation["content"]?.stringValue, operation["rationale"]?.stringValue].compactMap { $0 }
            return count + texts.filter(TranscriptGuard.containsSecret).count
        }
    }
}

/// A dream's inputs, loaded once: the input store's memories and the sessions' logs.
struct DreamInput: Sendable {
    var memories: [ExistingMemory]
    var sessions: [String: (session: Session, events: [SessionEvent], rawCharacters: Int, reads: [String])]
    var labels: [String: String]

    var rawCharacters: Int { sessions.values.reduce(0) { $0 + $1.rawCharacters } }

    static func load(_ dream: Dream, log: SessionLog, memory: MemoryService) async throws -> DreamInput {
        let files = try await memory.memoryFiles(storeID: dream.memoryStoreID)
        let pathsByMemory = Dictionary(files.map { ($0.memoryID, $0.path) }, uniquingKeysWith: { first, _ in first })
        var sessions: [String: (session: Session, events: [SessionEvent], rawCharacters: Int, reads: [String])] = [:]
        var labels: [String: String] = [:]
        for (index, id) in dream.sessionIDs.enumerated() {
            try Task.checkCancellation()
            let session: Session
            do {
                session = try await log.session(id: id)
            } catch let error as APIError where error.kind == .notFound {
                throw DreamFailure("invalid_request_error", "session '\(id)' no longer exists")
            }
            let stored = try await log.events(sessionID: id, after: 0, limit: Int.max)
            let events = try stored.map { try $0.event() }
            let reads = try await memory.memoryReads(sessionID: id).filter { $0.storeID == dream.memoryStoreID }
                .compactMap { pathsByMemory[$0.memoryID] }
            sessions[id] = (session, events, stored.reduce(0) { $0 + $1.json.count }, Array(Set(reads)))
            labels[id] = "S\(index + 1)"
        }
        return DreamInput(
            memories: files.map { ExistingMemory(path: $0.path, content: $0.content, pinned: $0.pinned) }, sessions: sessions, labels: labels)
    }

    func digest(_ sessionID: String, level: Int) -> SessionDigest {
        guard let input = sessions[sessionID] else {
            return SessionDigest(sessionID: sessionID, label: labels[sessionID] ?? "S?", header: [], lines: [], quarantined: [], rawCharacters: 0, level: level)
        }
        return SessionDigester().digest(
            session: input.session, label: labels[sessionID] ?? "S?", events: input.events, rawCharacters: input.rawCharacters, level: level,
            memoryReads: input.reads)
    }
}
