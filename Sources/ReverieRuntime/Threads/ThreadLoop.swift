import Foundation
import Logging
import ReverieCore
import ReverieModels
import ReverieStore

/// Drives one child thread: its agent's model, system prompt and tools over a conversation
/// built only from the thread's own events (what it was sent, and what it did), until it
/// ends its turn, is interrupted, or its model fails. Every event carries `session_thread_id`.
struct ThreadLoop: Sendable {
    let platform: Platform
    let sessionID: String
    let threadID: String
    /// The thread that receives this thread's replies (the coordinator's).
    let parentThreadID: String
    let agent: SessionAgent
    let session: Session
    let toolbox: Toolbox
    let provider: any ModelProvider
    let configuration: RuntimeConfiguration
    let control: LoopControl
    let logger: Logger
    /// The thread was running when the previous process stopped.
    var resuming = false

    /// How a run of the thread ended.
    enum Ending: Sendable, Equatable {
        /// The agent ended its turn with this reply.
        case finished(String)
        /// The model failed (after its retries); the message says why.
        case failed(String)
        case interrupted
        case shutdown
    }

    func run() async -> Ending {
        do {
            return try await drive()
        } catch is CancellationError {
            return .shutdown
        } catch {
            logger.error("thread loop failed", metadata: ["session": "\(sessionID)", "thread": "\(threadID)", "error": "\(error)"])
            let message = (error as? APIError)?.message ?? "\(error)"
            _ = try? await append([
                errorEvent(type: "unknown_error", message: "The thread runtime failed: \(message)", retry: "terminal"),
                statusEvent(.sessionThreadStatusIdle, stopReason: ["type": "end_turn"]),
            ])
            return .failed("The thread runtime failed: \(message)")
        }
    }

    private func drive() async throws -> Ending {
        var log = ThreadLogView(platform: platform, sessionID: sessionID, threadID: threadID)
        if resuming { try await closeInterruptedWork(&log) }
        try await append([statusEvent(.sessionThreadStatusRunning)])
        var modelCalls = 0
        while true {
            try Task.checkCancellation()
            try await log.refresh()
            let events = log.events
            let state = TurnState(events: events)
            if control.isInterrupted {
                var closing: [SessionEvent] = []
                if let open = state.openModelRequestID { closing.append(modelRequestEnd(open, usage: TokenUsage(), isError: true)) }
                for call in state.pending {
                    closing.append(toolResult(call.eventID, .error("The tool call was not run: the thread was interrupted.")))
                }
                closing.append(statusEvent(.sessionThreadStatusIdle, stopReason: ["type": "end_turn"]))
                try await append(closing)
                return .interrupted
            }
            switch state.next {
            case .callModel:
                modelCalls += 1
                if modelCalls > configuration.maxModelCallsPerTurn {
                    let message = "The thread made more than \(configuration.maxModelCallsPerTurn) model calls and was stopped."
                    try await append([
                        errorEvent(type: "unknown_error", message: message, retry: "terminal"),
                        statusEvent(.sessionThreadStatusIdle, stopReason: ["type": "end_turn"]),
                    ])
                    return .failed(message)
                }
                if let failure = try await callModel(events: events) { return failure }
            case .handleCalls:
                for call in state.pending {
                    if control.isInterrupted { break }
                    try await execute(call)
                }
            case .turnEnded:
                let reply = events.last(where: { $0.type == .agentMessage })?.text ?? ""
                try await append([
                    SessionEvent(type: .agentThreadMessageSent, fields: [
                        "to_session_thread_id": .string(parentThreadID), "content": [["type": "text", "text": .string(reply)]],
                    ]),
                    statusEvent(.sessionThreadStatusIdle, stopReason: ["type": "end_turn"]),
                ])
                return .finished(reply)
            }
        }
    }

    /// After a restart: closes the model request and tool calls the previous process left open.
    private func closeInterruptedWork(_ log: inout ThreadLogView) async throws {
        try await log.refresh()
        let state = TurnState(events: log.events)
        var events: [SessionEvent] = []
        if let open = state.openModelRequestID { events.append(modelRequestEnd(open, usage: TokenUsage(), isError: true)) }
        for call in state.pending {
            events.append(toolResult(call.eventID, .error(
                "The tool call was interrupted by a server restart; it may or may not have completed. Check its effects before retrying.")))
        }
        if !events.isEmpty { try await append(events) }
    }

    // MARK: model calls

    /// Calls the model and records its reply; returns an ending when the thread must stop.
    private func callModel(events: [SessionEvent]) async throws -> Ending? {
        let (messages, additions) = Conversation.build(from: events)
        var prompt = session
        prompt.agent = agent
        let request = ModelRequest(
            model: agent.model.id, system: SystemPrompt.compose(for: prompt, additions: additions), messages: messages,
            tools: toolbox.definitions, maxTokens: configuration.maxTokens)
        let start = SessionEvent(type: .spanModelRequestStart)
        try await append([start])
        let provider = self.provider
        let record: @Sendable (SessionEvent) async -> Void = { [self] event in _ = try? await append([event]) }
        let response: ModelResponse
        do {
            response = try await control.perform {
                guard let retrying = provider as? RetryingModelProvider else {
                    return try await provider.complete(request) { _ in }
                }
                return try await retrying.complete(request, onEvent: { _ in }) { attempt in
                    await record(SessionLoop.retryingEvent(attempt))
                }
            }
        } catch let error where control.isInterrupted || error is CancellationError {
            if !control.isInterrupted { throw error }
            try await append([modelRequestEnd(start.id, usage: TokenUsage(), isError: true)])
            return nil
        } catch {
            let failure = ModelFailure(error)
            try await append([
                modelRequestEnd(start.id, usage: TokenUsage(), isError: true),
                errorEvent(type: failure.errorType, message: failure.message, retry: failure.retryStatus),
                statusEvent(.sessionThreadStatusIdle, stopReason: ["type": .string(failure.stopReason)]),
            ])
            return .failed(failure.message)
        }
        var produced: [SessionEvent] = []
        var text: [JSONValue] = []
        for block in response.content {
            switch block {
            case .thinking: produced.append(SessionEvent(type: .agentThinking))
            case .text(let value): if !value.isEmpty { text.append(["type": "text", "text": .string(value)]) }
            case .toolUse, .toolResult, .media: break
            }
        }
        if !text.isEmpty { produced.append(SessionEvent(type: .agentMessage, fields: ["content": .array(text)])) }
        for case .toolUse(_, let name, let input) in response.content {
            // A thread has no client to run custom tools or answer confirmations: its tools run as allowed.
            produced.append(SessionEvent(type: .agentToolUse, fields: [
                "name": .string(name), "input": input, "evaluated_permission": "allow", "evaluation": ["type": "always_allow"],
            ]))
        }
        produced.append(modelRequestEnd(start.id, usage: response.usage, isError: false))
        try await append(produced)
        return nil
    }

    // MARK: tool calls

    private func execute(_ call: TurnState.PendingCall) async throws {
        let toolbox = self.toolbox
        let output: ToolOutput
        if toolbox.isCustom(call.name) {
            output = .error("The custom tool '\(call.name)' cannot be used in a thread: no client answers it there.")
        } else {
            do {
                output = try await control.perform { await toolbox.run(call.name, input: call.input) }
            } catch where control.isInterrupted {
                output = .error("The tool call was interrupted before it finished.")
            }
        }
        try await append([toolResult(call.eventID, output)])
    }

    // MARK: events

    /// Appends events tagged with this thread.
    @discardableResult
    func append(_ events: [SessionEvent]) async throws -> [StoredEvent] {
        let tagged = events.map { event -> SessionEvent in
            var event = event
            event.threadID = threadID
            return event
        }
        return try await platform.append(tagged, to: sessionID).1
    }

    private func statusEvent(_ type: EventType, stopReason: JSONValue? = nil) -> SessionEvent {
        var fields: [String: JSONValue] = ["agent_name": .string(agent.name)]
        if let stopReason { fields["stop_reason"] = stopReason }
        return SessionEvent(type: type, fields: fields)
    }

    private func errorEvent(type: String, message: String, retry: String) -> SessionEvent {
        SessionEvent(type: .sessionError, fields: [
            "error": ["type": .string(type), "message": .string(message), "retry_status": ["type": .string(retry)]],
        ])
    }

    private func modelRequestEnd(_ startID: String, usage: TokenUsage, isError: Bool) -> SessionEvent {
        SessionEvent(type: .spanModelRequestEnd, fields: [
            "model_request_start_id": .string(startID), "is_error": .bool(isError),
            "model_usage": [
                "input_tokens": .int(Int64(usage.inputTokens)), "output_tokens": .int(Int64(usage.outputTokens)),
                "cache_read_input_tokens": .int(Int64(usage.cacheReadInputTokens)),
                "cache_creation_input_tokens": .int(Int64(usage.cacheCreationInputTokens)),
            ],
        ])
    }

    private func toolResult(_ toolUseID: String, _ output: ToolOutput) -> SessionEvent {
        let content: [JSONValue] = output.content.map { item in
            switch item {
            case .text(let text): ["type": "text", "text": .string(text)]
            case .media(let block): block
            }
        }
        return SessionEvent(type: .agentToolResult, fields: [
            "tool_use_id": .string(toolUseID), "content": .array(content), "is_error": .bool(output.isError),
        ])
    }
}
