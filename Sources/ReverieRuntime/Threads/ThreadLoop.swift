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
        /// Tool calls wait for the user: a confirmation (`always_ask`) or a custom tool's result,
        /// sent with this thread's `session_thread_id`.
        case requiresAction
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
                StepEvents.error(type: "unknown_error", message: "The thread runtime failed: \(message)", retry: "terminal"),
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
                if let open = state.openModelRequestID { closing.append(StepEvents.modelRequestEnd(open, usage: TokenUsage(), isError: true)) }
                for call in state.pending where !call.isCustom {
                    closing.append(StepEvents.toolResult(call.eventID, .error("The tool call was not run: the thread was interrupted.")))
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
                        StepEvents.error(type: "unknown_error", message: message, retry: "terminal"),
                        statusEvent(.sessionThreadStatusIdle, stopReason: ["type": "end_turn"]),
                    ])
                    return .failed(message)
                }
                if let failure = try await callModel(events: events) { return failure }
            case .handleCalls:
                if try await handleCalls(state.pending) == .waiting { return .requiresAction }
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
        if let open = state.openModelRequestID { events.append(StepEvents.modelRequestEnd(open, usage: TokenUsage(), isError: true)) }
        for call in state.pending where call.hadStarted(toolbox) {
            events.append(StepEvents.toolResult(call.eventID, .error(
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
        let record: @Sendable (SessionEvent) async -> Void = { [self] event in _ = try? await append([event]) }
        let response: ModelResponse
        do {
            response = try await control.complete(request, with: provider, onEvent: { _ in }) { attempt in
                await record(StepEvents.retrying(attempt))
            }
        } catch let error where control.isInterrupted || error is CancellationError {
            if !control.isInterrupted { throw error }
            try await append([StepEvents.modelRequestEnd(start.id, usage: TokenUsage(), isError: true)])
            return nil
        } catch {
            let failure = ModelFailure(error)
            try await append([
                StepEvents.modelRequestEnd(start.id, usage: TokenUsage(), isError: true),
                StepEvents.error(type: failure.errorType, message: failure.message, retry: failure.retryStatus),
                statusEvent(.sessionThreadStatusIdle, stopReason: ["type": .string(failure.stopReason)]),
            ])
            return .failed(failure.message)
        }
        var produced = StepEvents.reply(response, toolbox: toolbox)
        produced.append(StepEvents.modelRequestEnd(start.id, usage: response.usage, isError: false))
        try await append(produced)
        return nil
    }

    // MARK: tool calls

    private enum CallsResult { case progressed, waiting }

    /// Runs, denies or holds the pending calls. Calls waiting for the user (custom tools,
    /// `always_ask` without an answer) leave the thread idle with `requires_action`.
    private func handleCalls(_ pending: [TurnState.PendingCall]) async throws -> CallsResult {
        var waiting: [String] = []
        var progressed = false
        for call in pending {
            if control.isInterrupted { return .progressed }
            switch call.disposition(toolbox) {
            case .wait:
                waiting.append(call.eventID)
                continue
            case .deny(let reason):
                try await append([StepEvents.toolResult(call.eventID, .error(reason))])
            case .run:
                try await execute(call)
            }
            progressed = true
        }
        if progressed { return .progressed }
        try await append([statusEvent(.sessionThreadStatusIdle, stopReason: [
            "type": "requires_action", "event_ids": .array(waiting.map(JSONValue.string)),
        ])])
        return .waiting
    }

    private func execute(_ call: TurnState.PendingCall) async throws {
        let toolbox = self.toolbox
        let output: ToolOutput
        do {
            output = try await control.perform { await toolbox.run(call.name, input: call.input) }
        } catch where control.isInterrupted {
            output = .error("The tool call was interrupted before it finished.")
        }
        try await append([StepEvents.toolResult(call.eventID, output)])
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
}
