import ReverieCore
import ReverieModels

extension AgentLoop {
    /// How a compaction ended.
    enum CompactionResult {
        /// The summary replaced the older messages (an `agent.thread_context_compacted` is stored).
        case compacted
        /// A `user.interrupt` stopped the summary request.
        case interrupted
        /// The thread stops: the summary request failed, or the conversation cannot be made to fit.
        case ended(Ending)
    }

    /// Summarises the older part of the thread's conversation in a model request of its own and
    /// records the summary, and the range of events it stands for, as an
    /// `agent.thread_context_compacted` event; the conversation view then puts the summary in
    /// place of that part (the log itself is never rewritten). `attempt` counts compactions in a
    /// row without a model reply; past `configuration.maxConsecutiveCompactions`, or when nothing
    /// can be summarised, the thread stops with `compaction_limit_reached_error`.
    func compact(_ view: EventLogView, fixedTokens: Int, attempt: Int) async throws -> CompactionResult {
        let conversation = view.conversation
        let messages = conversation.messages
        let before = conversation.estimatedTokens(fixedTokens: fixedTokens)
        let summaryTokens = min(configuration.maxTokens, 4_096, max(256, contextWindow.tokens / 10))
        // Keep recent messages up to half of what the limit leaves after the fixed part and the
        // summary; the other half is room to work in before the next compaction.
        let keepTokens = max(0, (contextWindow.compactionLimit - fixedTokens - summaryTokens) / 2)
        guard attempt <= configuration.maxConsecutiveCompactions, let cut = CompactionCut.choose(messages, keepTokens: keepTokens) else {
            let message = attempt > configuration.maxConsecutiveCompactions
                ? "The context was compacted \(configuration.maxConsecutiveCompactions) times in a row and still exceeds the compaction limit of \(contextWindow.compactionLimit) tokens (estimated \(before))."
                : "The context (estimated \(before) tokens) exceeds the compaction limit of \(contextWindow.compactionLimit) tokens and holds nothing that can be compacted."
            try await view.append([
                StepEvents.error(type: "compaction_limit_reached_error", message: message, retry: "exhausted"),
                scope.idleEvent(["type": "retries_exhausted"]),
            ])
            return .ended(.failed(message))
        }
        let transcriptBudget = max(256, contextWindow.tokens - summaryTokens - ContextEstimate.tokens(CompactionPrompt.system) - 256)
        let request = CompactionPrompt.request(
            model: session.agent.model.id, messages: messages[..<cut], budgetTokens: transcriptBudget, maxTokens: summaryTokens)
        let start = SessionEvent(type: .spanModelRequestStart, fields: ["purpose": "compaction"])
        try await view.append([start])
        let response: ModelResponse
        do {
            response = try await complete(request)
        } catch let error where control.isInterrupted || error is CancellationError {
            if !control.isInterrupted { throw error }
            try await view.append([StepEvents.modelRequestEnd(start.id, usage: TokenUsage(), isError: true)])
            return .interrupted
        } catch {
            return .ended(try await recordFailure(error, requestStartID: start.id, view: view))
        }
        var summary = response.content.compactMap { block -> String? in
            if case .text(let text) = block { return text }
            return nil
        }.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        if summary.isEmpty { summary = "(The summary came back empty.)" }
        let keptFrom = conversation.messageEventIDs[cut]
        let after = fixedTokens + ContextEstimate.tokens([Conversation.summaryMessage(summary)]) + ContextEstimate.tokens(messages[cut...])
        var fields: [String: JSONValue] = [
            "summary": .string(summary), "kept_from_event_id": .string(keptFrom),
            "compacted_from_event_id": .string(conversation.messageEventIDs[0]),
            "compacted_message_count": .int(Int64(cut)),
            "estimated_tokens_before": .int(Int64(before)), "estimated_tokens_after": .int(Int64(after)),
            "context_window": .int(Int64(contextWindow.tokens)),
        ]
        if let index = view.events.firstIndex(where: { $0.id == keptFrom }), index > 0 {
            fields["compacted_to_event_id"] = .string(view.events[index - 1].id)
        }
        try await view.append([
            StepEvents.modelRequestEnd(start.id, usage: response.usage, isError: false, listCostMicros: price?.micros(for: response.usage)),
            SessionEvent(type: .agentThreadContextCompacted, fields: fields),
        ])
        return .compacted
    }
}
