import Foundation
import Logging
import ReverieCore
import ReverieModels
import ReverieStore

/// Drives one session's agent: calls the model with the conversation rebuilt from the log,
/// runs tool calls, and records every step as events, until the agent ends its turn, needs
/// the user, is interrupted, or fails.
///
/// All state lives in the event log. A loop started after a restart (`resuming`) first
/// closes what the crash left open: a model request that never ended is recorded as failed
/// and retried; a tool call that had started is reported to the model as interrupted.
struct SessionLoop: Sendable {
    let platform: Platform
    let session: Session
    let toolbox: Toolbox
    let provider: any ModelProvider
    let configuration: RuntimeConfiguration
    let control: LoopControl
    let turnEndHandler: (any TurnEndHandler)?
    let logger: Logger

    var sessionID: String { session.id }

    /// How a loop run ended.
    enum Ending: Sendable, Equatable {
        case idle
        case shutdown
    }

    func run(resuming: Bool) async -> Ending {
        do {
            try await drive(resuming: resuming)
            return .idle
        } catch is CancellationError {
            // Shutdown: the session stays `running` in the store and resumes on restart.
            return .shutdown
        } catch {
            logger.error("session loop failed", metadata: ["session": "\(sessionID)", "error": "\(error)"])
            let message = (error as? APIError)?.message ?? "\(error)"
            _ = try? await platform.append([
                StepEvents.error(type: "unknown_error", message: "The session runtime failed: \(message)", retry: "terminal"),
                idleEvent(["type": "end_turn"]),
            ], to: sessionID)
            return .idle
        }
    }

    private func drive(resuming: Bool) async throws {
        let log = EventLogView(platform: platform, sessionID: sessionID)
        try await log.refresh()
        var state = log.turn
        if resuming { try await closeInterruptedWork(state, log: log) }
        if try await platform.store.sessionHeader(id: sessionID)?.status != .running {
            try await log.append([SessionEvent(type: .sessionStatusRunning)])
        }
        var modelCalls = 0
        while true {
            try Task.checkCancellation()
            try await log.refresh()
            state = log.turn
            if control.isInterrupted {
                try await finishInterrupted(state, log: log)
                return
            }
            switch state.next {
            case .callModel:
                modelCalls += 1
                if modelCalls > configuration.maxModelCallsPerTurn {
                    try await log.append([
                        StepEvents.error(type: "unknown_error", message: "The turn made more than \(configuration.maxModelCallsPerTurn) model calls and was stopped.", retry: "terminal"),
                        idleEvent(["type": "end_turn"]),
                    ])
                    return
                }
                if try await callModel(log: log) == .stopped { return }
            case .handleCalls:
                switch try await handleCalls(state.pending, log: log) {
                case .waiting:
                    return
                case .progressed(carried: nil):
                    continue
                case .progressed(carried: let result?):
                    // The last result is written together with the start of the model request
                    // that follows it: one write instead of two per step.
                    do {
                        try await log.refresh()
                    } catch {
                        // Never lose a result: a call without one would run again.
                        _ = try? await log.append([result])
                        throw error
                    }
                    guard !control.isInterrupted, modelCalls < configuration.maxModelCallsPerTurn else {
                        try await log.append([result])
                        continue
                    }
                    modelCalls += 1
                    if try await callModel(log: log, carrying: [result]) == .stopped { return }
                }
            case .turnEnded:
                if let handler = turnEndHandler {
                    // The session as the loop started (its agent is pinned; no need to read it again).
                    let decision = try await handler.agentEndedTurn(
                        EndedTurn(session: session, events: log.primary, sandbox: toolbox.sandbox, control: control))
                    if decision == .continueWorking { continue }
                }
                try await log.refresh()
                if log.turn.next != .turnEnded { continue }
                try await log.append([idleEvent(["type": "end_turn"])])
                return
            }
        }
    }

    // MARK: model calls

    private enum CallResult { case continued, stopped }

    /// Calls the model; `carrying` are events not yet stored that precede the request (they
    /// are written with its `span.model_request_start`).
    private func callModel(log: EventLogView, carrying: [SessionEvent] = []) async throws -> CallResult {
        var conversation = log.conversation
        for event in carrying { conversation.add(event) }
        let (messages, additions) = (conversation.messages, conversation.systemAdditions)
        let request = ModelRequest(
            model: session.agent.model.id, system: SystemPrompt.compose(for: session, additions: additions), messages: messages,
            tools: toolbox.definitions, maxTokens: configuration.maxTokens)
        let start = SessionEvent(type: .spanModelRequestStart)
        try await log.append(carrying + [start])
        let previews = PreviewPublisher(hub: platform.hub, sessionID: sessionID)
        let (platform, sessionID) = (self.platform, self.sessionID)
        let response: ModelResponse
        do {
            response = try await control.complete(request, with: provider, onEvent: { event in await previews.publish(event) }) { attempt in
                // Each failed attempt that will be retried is logged as it happens.
                previews.restart()
                _ = try? await platform.append([StepEvents.retrying(attempt)], to: sessionID)
            }
        } catch let error where control.isInterrupted || error is CancellationError {
            if !control.isInterrupted { throw error }
            try await log.append([StepEvents.modelRequestEnd(start.id, usage: TokenUsage(), isError: true)])
            return .continued
        } catch {
            let failure = ModelFailure(error)
            try await log.append([
                StepEvents.modelRequestEnd(start.id, usage: TokenUsage(), isError: true),
                StepEvents.error(type: failure.errorType, message: failure.message, retry: failure.retryStatus),
                idleEvent(["type": .string(failure.stopReason)]),
            ])
            return .stopped
        }
        var produced = StepEvents.reply(response, messageID: previews.messageID, toolbox: toolbox)
        produced.append(StepEvents.modelRequestEnd(start.id, usage: response.usage, isError: false))
        try await log.append(produced)
        return .continued
    }

    // MARK: tool calls

    private enum CallsResult: Equatable {
        /// Some calls were answered. `carried`: the last result, not yet written, when every
        /// call is now answered (the model is called next).
        case progressed(carried: SessionEvent?)
        case waiting
    }

    private func handleCalls(_ pending: [TurnState.PendingCall], log: EventLogView) async throws -> CallsResult {
        var waiting: [String] = []
        var progressed = false
        var carried: SessionEvent?
        for (index, call) in pending.enumerated() {
            if control.isInterrupted { return .progressed(carried: nil) }
            let result: SessionEvent
            switch call.disposition(toolbox) {
            case .wait:
                waiting.append(call.eventID)
                continue
            case .deny(let reason):
                result = StepEvents.toolResult(call.eventID, .error(reason))
            case .run:
                result = try await execute(call)
            }
            progressed = true
            if index == pending.count - 1, waiting.isEmpty {
                carried = result
            } else {
                try await log.append([result])
            }
        }
        if progressed { return .progressed(carried: carried) }
        try await log.append([idleEvent(["type": "requires_action", "event_ids": .array(waiting.map(JSONValue.string))])])
        return .waiting
    }

    /// Runs a call and returns its `agent.tool_result` (not yet written).
    private func execute(_ call: TurnState.PendingCall) async throws -> SessionEvent {
        let toolbox = self.toolbox
        let output: ToolOutput
        do {
            output = try await control.perform { await toolbox.run(call.name, input: call.input) }
        } catch where control.isInterrupted {
            output = .error("The tool call was interrupted by the user before it finished.")
        }
        return StepEvents.toolResult(call.eventID, output)
    }

    // MARK: interruption and recovery

    /// After `user.interrupt`: answer open tool calls so the conversation stays valid, then go idle.
    private func finishInterrupted(_ state: TurnState, log: EventLogView) async throws {
        var events: [SessionEvent] = []
        for call in state.pending where !call.isCustom {
            events.append(StepEvents.toolResult(call.eventID, .error("The tool call was not run: the user interrupted the session.")))
        }
        events += turnEndHandler?.turnInterrupted(events: log.primary) ?? []
        events.append(idleEvent(["type": "end_turn"]))
        try await log.append(events)
    }

    /// After a restart: close the model request and tool calls the crash left open.
    private func closeInterruptedWork(_ state: TurnState, log: EventLogView) async throws {
        var events: [SessionEvent] = []
        if let open = state.openModelRequestID {
            events.append(StepEvents.modelRequestEnd(open, usage: TokenUsage(), isError: true))
        }
        for call in state.pending where call.hadStarted(toolbox) {
            events.append(StepEvents.toolResult(call.eventID, .error(
                "The tool call was interrupted by a server restart; it may or may not have completed. Check its effects before retrying.")))
        }
        if !events.isEmpty { try await log.append(events) }
    }

    // MARK: event builders

    private func idleEvent(_ stopReason: JSONValue) -> SessionEvent {
        SessionEvent(type: .sessionStatusIdle, fields: ["stop_reason": stopReason])
    }
}

/// A model failure as the session records it.
struct ModelFailure {
    var errorType: String
    var message: String
    var retryStatus: String
    var stopReason: String

    init(_ error: any Error) {
        let modelError = (error as? ModelError) ?? (error as? any ModelErrorCarrying)?.modelError
        let kind = modelError?.kind
        switch kind {
        case .rateLimited?: errorType = "model_rate_limited_error"
        case .overloaded?: errorType = "model_overloaded_error"
        case .serverError?, .timeout?, .connection?, .truncated?, .invalidRequest?, .authentication?, .invalidResponse?:
            errorType = "model_request_failed_error"
        case .notConfigured?, nil: errorType = "unknown_error"
        }
        message = modelError.map { "Model request failed: \($0.description)" } ?? "Model request failed: \(error)"
        if modelError?.isRetryable == true {
            retryStatus = "exhausted"
            stopReason = "retries_exhausted"
        } else {
            retryStatus = "terminal"
            stopReason = "end_turn"
        }
    }
}

/// An error that wraps the last `ModelError` (for example, retries exhausted).
public protocol ModelErrorCarrying: Error {
    var modelError: ModelError { get }
}
