import Foundation
import Logging
import ReverieCore
import ReverieExecution
import ReverieModels

/// Drives one thread of a session — the primary thread or a coordinator's child thread —
/// until its agent ends the turn, needs the user, is interrupted, or fails: calls the model
/// with the conversation rebuilt from the thread's events, hands tool calls to the toolbox,
/// and records every step as events. What differs between threads is the `LoopScope`.
///
/// All state lives in the event log. A loop started after a restart (`resuming`) first
/// closes what the previous process left open: a model request that never ended is recorded
/// as failed, and a tool call that had started is reported to the model as interrupted.
struct AgentLoop: Sendable {
    let log: SessionLog
    /// The session, its `agent` being the one this thread runs.
    let session: Session
    let scope: LoopScope
    let toolbox: Toolbox
    let provider: any ModelProvider
    /// The model's context window: the conversation is compacted to stay under it.
    let contextWindow: ContextWindow
    /// The model's list price (each call's cost is recorded; a session's budget counts it).
    let price: ModelPrice?
    let configuration: RuntimeConfiguration
    let control: LoopControl
    /// Runs when the primary thread's agent ends its turn (outcome grading).
    let turnEndHandler: (any TurnEndHandler)?
    let logger: Logger

    var sessionID: String { session.id }

    /// How a run of the loop ended.
    enum Ending: Sendable, Equatable {
        /// The agent ended its turn with this reply.
        case finished(String)
        /// The turn failed (the model, after its retries, or the runtime); the message says why.
        case failed(String)
        /// Tool calls wait for the user: a confirmation (`always_ask`) or a custom tool's result.
        case requiresAction
        case interrupted
        /// The process is shutting down; the thread stays running and resumes at the next start.
        case shutdown

        var isFailure: Bool {
            if case .failed = self { return true }
            return false
        }
    }

    func run(resuming: Bool) async -> Ending {
        let view = EventLogView(log: log, sessionID: sessionID, threadID: scope.threadID)
        do {
            return try await drive(view, resuming: resuming)
        } catch is CancellationError {
            return .shutdown
        } catch {
            let message = "The \(scope.noun) runtime failed: \(ClientMessage.describe(error))"
            logger.error("agent loop failed", metadata: [
                "session": "\(sessionID)", "thread": "\(scope.threadID ?? "primary")", "error": "\(String(reflecting: error))",
            ])
            _ = try? await view.append([
                StepEvents.error(type: "unknown_error", message: message, retry: "terminal"), scope.idleEvent(["type": "end_turn"]),
            ])
            return .failed(message)
        }
    }

    /// Whether the log holds a `user.interrupt` sent while the session was running that no
    /// `session.status_idle` has answered.
    static func hasUnansweredInterrupt(_ events: [SessionEvent]) -> Bool {
        guard let running = events.lastIndex(where: { $0.type == .sessionStatusRunning }),
            let interrupt = events.lastIndex(where: { $0.type == .userInterrupt && $0.threadID == nil }), interrupt > running
        else { return false }
        return !events[running...].contains { $0.type == .sessionStatusIdle }
    }

    private func drive(_ view: EventLogView, resuming: Bool) async throws -> Ending {
        try await view.refresh()
        // An interrupt stored while no loop ran (the process died, or was starting) is honoured
        // before anything else happens.
        if scope.isPrimary, Self.hasUnansweredInterrupt(view.events) { control.interrupt() }
        if resuming { try await closeInterruptedWork(view) }
        if scope.isPrimary {
            if try await log.header(id: sessionID)?.status != .running { try await view.append([scope.runningEvent()]) }
        } else {
            try await view.append([scope.runningEvent()])
        }
        // MCP servers that could not be used: the session goes on without their tools.
        let mcpFailures = toolbox.mcp.failureEvents
        if !mcpFailures.isEmpty { try await view.append(mcpFailures) }
        var modelCalls = 0
        while true {
            try Task.checkCancellation()
            try await view.refresh()
            let state = view.turn
            if control.isInterrupted {
                try await finishInterrupted(state, view: view)
                return .interrupted
            }
            switch state.next {
            case .callModel:
                modelCalls += 1
                if modelCalls > configuration.maxModelCallsPerTurn {
                    let message = "The \(scope.isPrimary ? "turn" : "thread") made more than \(configuration.maxModelCallsPerTurn) model calls and was stopped."
                    try await view.append([StepEvents.error(type: "unknown_error", message: message, retry: "terminal"), scope.idleEvent(["type": "end_turn"])])
                    return .failed(message)
                }
                if let ending = try await callModel(view) { return ending }
            case .handleCalls:
                switch try await handleCalls(state.pending, view: view) {
                case .waiting:
                    return .requiresAction
                case .awaitingWorker:
                    // The worker's results (or an interrupt) wake this loop where it stands: no
                    // new loop, no re-read of the log, for every tool call.
                    try await control.waitForWake()
                    continue
                case .progressed(carried: nil):
                    continue
                case .progressed(carried: let result?):
                    // The last result is written together with the start of the model request
                    // that follows it: one write instead of two per step.
                    do {
                        try await view.refresh()
                    } catch {
                        // Never lose a result: a call without one would run again.
                        _ = try? await view.append([result])
                        throw error
                    }
                    guard !control.isInterrupted, modelCalls < configuration.maxModelCallsPerTurn else {
                        try await view.append([result])
                        continue
                    }
                    modelCalls += 1
                    if let ending = try await callModel(view, carrying: [result]) { return ending }
                }
            case .turnEnded:
                if let handler = turnEndHandler {
                    // The session as the loop started (its agent is pinned; no need to read it again).
                    let decision = try await handler.agentEndedTurn(
                        EndedTurn(session: session, events: view.events, sandbox: toolbox.sandbox, plane: toolbox.plane, control: control))
                    if decision == .continueWorking { continue }
                }
                if scope.isPrimary {
                    // A message that arrived while the turn ended starts the next step at once.
                    try await view.refresh()
                    if view.turn.next != .turnEnded { continue }
                }
                let reply = view.events.last(where: { $0.type == .agentMessage })?.text ?? ""
                var closing: [SessionEvent] = []
                if let parent = scope.parentThreadID {
                    closing.append(SessionEvent(type: .agentThreadMessageSent, fields: [
                        "to_session_thread_id": .string(parent), "content": [["type": "text", "text": .string(reply)]],
                    ]))
                }
                closing.append(scope.idleEvent(["type": "end_turn"]))
                try await view.append(closing)
                return .finished(reply)
            }
        }
    }

    // MARK: model calls

    /// Calls the model and records its reply; returns an ending when the turn must stop.
    /// `carrying` are events not yet stored that precede the request (they are written with
    /// its `span.model_request_start`).
    private func callModel(_ view: EventLogView, carrying: [SessionEvent] = []) async throws -> Ending? {
        if let ending = try await stopAtBudget(view, carrying: carrying) { return ending }
        var carrying = carrying
        var conversation = view.conversation
        for event in carrying { conversation.add(event) }
        let system = SystemPrompt.compose(for: session, additions: conversation.systemAdditions)
        let tools = toolbox.definitions
        let fixedTokens = ContextEstimate.tokens(system: system, tools: tools)
        var compactions = view.compactionsSinceLastReply
        while conversation.estimatedTokens(fixedTokens: fixedTokens) > contextWindow.compactionLimit {
            // What is carried is stored first: the summary request takes a while, and a result
            // must never be lost.
            if !carrying.isEmpty {
                try await view.append(carrying)
                carrying = []
            }
            compactions += 1
            switch try await compact(view, fixedTokens: fixedTokens, attempt: compactions) {
            case .compacted: conversation = view.conversation
            case .interrupted: return nil
            case .ended(let ending): return ending
            }
        }
        // The reply must fit in what is left of the window.
        let room = contextWindow.tokens - conversation.estimatedTokens(fixedTokens: fixedTokens)
        let request = ModelRequest(
            model: session.agent.model.id, system: system, messages: conversation.messages, tools: tools,
            maxTokens: min(configuration.maxTokens, max(256, room)), promptCaching: true)
        let start = SessionEvent(type: .spanModelRequestStart)
        try await view.append(carrying + [start])
        // Live previews of the reply are streamed for the primary thread only.
        let previews = scope.isPrimary ? PreviewPublisher(hub: log.hub, sessionID: sessionID) : nil
        let response: ModelResponse
        do {
            response = try await complete(request, onEvent: { event in await previews?.publish(event) }, onRetry: { previews?.restart() })
        } catch let error where control.isInterrupted || error is CancellationError {
            if !control.isInterrupted { throw error }
            try await view.append([StepEvents.modelRequestEnd(start.id, usage: TokenUsage(), isError: true)])
            return nil
        } catch let error as ModelError where error.isContextOverflow {
            // The estimate was short: the model says the request does not fit. Compact, and
            // the loop calls the model again.
            try await view.append([StepEvents.modelRequestEnd(start.id, usage: TokenUsage(), isError: true)])
            switch try await compact(view, fixedTokens: fixedTokens, attempt: compactions + 1) {
            case .compacted, .interrupted: return nil
            case .ended(let ending): return ending
            }
        } catch {
            return try await recordFailure(error, requestStartID: start.id, view: view)
        }
        var produced = StepEvents.reply(response, messageID: previews?.messageID, toolbox: toolbox)
        produced.append(StepEvents.modelRequestEnd(start.id, usage: response.usage, isError: false, listCostMicros: price?.micros(for: response.usage)))
        try await view.append(produced)
        return nil
    }

    /// Sends a request under `control` (an interrupt cancels it), logging each failed attempt
    /// that will be retried as a `session.error` of the thread as it happens.
    func complete(
        _ request: ModelRequest, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void = { _ in },
        onRetry: @escaping @Sendable () -> Void = {}
    ) async throws -> ModelResponse {
        let (log, sessionID, threadID) = (self.log, self.sessionID, scope.threadID)
        return try await control.complete(request, with: provider, onEvent: onEvent) { attempt in
            onRetry()
            var event = StepEvents.retrying(attempt)
            event.threadID = threadID
            _ = try? await log.append([event], to: sessionID)
        }
    }

    /// When the session has a budget and its list cost has reached it, no model request is
    /// made: the thread goes idle with `budget_reached` (what is carried is stored first).
    func stopAtBudget(_ view: EventLogView, carrying: [SessionEvent]) async throws -> Ending? {
        guard let budget = session.budget, let spent = try await log.header(id: sessionID)?.state.usage.listCostMicros,
            spent >= budget.maxListCost.micros
        else { return nil }
        try await view.append(carrying + [scope.idleEvent(["type": "budget_reached"])])
        return .failed("The session's list cost reached its budget of \(budget.maxListCost.cents) cents.")
    }

    /// Records a model request that failed for good: the thread goes idle.
    func recordFailure(_ error: any Error, requestStartID: String, view: EventLogView) async throws -> Ending {
        let failure = ModelFailure(error)
        try await view.append([
            StepEvents.modelRequestEnd(requestStartID, usage: TokenUsage(), isError: true),
            StepEvents.error(type: failure.errorType, message: failure.message, retry: failure.retryStatus),
            scope.idleEvent(["type": .string(failure.stopReason)]),
        ])
        return .failed(failure.message)
    }

    // MARK: tool calls

    private enum CallsResult: Equatable {
        /// Some calls were answered. `carried`: the last result, not yet written, when every
        /// call is now answered (the model is called next).
        case progressed(carried: SessionEvent?)
        case waiting
        /// Only a worker's results are awaited: the thread stays running and waits for them.
        case awaitingWorker
    }

    /// Runs, denies or holds the pending calls. Calls waiting for the user (custom tools,
    /// `always_ask` without an answer) leave the thread idle with `requires_action`; calls
    /// waiting only for a worker leave it running.
    private func handleCalls(_ pending: [TurnState.PendingCall], view: EventLogView) async throws -> CallsResult {
        var waiting: [String] = []
        var awaitingWorker = false
        var progressed = false
        var carried: SessionEvent?
        for (index, call) in pending.enumerated() {
            if control.isInterrupted { return .progressed(carried: nil) }
            let result: SessionEvent
            switch call.disposition(toolbox) {
            case .wait:
                waiting.append(call.eventID)
                continue
            case .awaitWorker:
                awaitingWorker = true
                continue
            case .deny(let reason):
                result = StepEvents.result(for: call, .error(reason))
            case .run:
                result = try await execute(call)
            }
            progressed = true
            if index == pending.count - 1, waiting.isEmpty, !awaitingWorker {
                carried = result
            } else {
                try await view.append([result])
            }
        }
        if progressed { return .progressed(carried: carried) }
        if waiting.isEmpty, awaitingWorker {
            try await toolbox.requestWorker(sessionID: sessionID)
            return .awaitingWorker
        }
        // Calls for a worker wait too: it takes the session while it stays queued.
        if awaitingWorker { try await toolbox.requestWorker(sessionID: sessionID) }
        try await view.append([scope.idleEvent(["type": "requires_action", "event_ids": .array(waiting.map(JSONValue.string))])])
        return .waiting
    }

    /// Runs a call through the toolbox and returns its `agent.tool_result` (not yet written).
    private func execute(_ call: TurnState.PendingCall) async throws -> SessionEvent {
        let (toolbox, toolCall) = (self.toolbox, ToolCall(sessionID: sessionID, toolUseID: call.eventID, name: call.name, input: call.input))
        let output: ToolOutput
        do {
            output = try await control.perform { await toolbox.run(toolCall) }
        } catch where control.isInterrupted {
            output = .error("The tool call was interrupted before it finished.")
        }
        return StepEvents.result(for: call, output)
    }

    // MARK: interruption and recovery

    /// After `user.interrupt`: answer open calls so the conversation stays valid, then go idle.
    private func finishInterrupted(_ state: TurnState, view: EventLogView) async throws {
        var events: [SessionEvent] = []
        if let open = state.openModelRequestID { events.append(StepEvents.modelRequestEnd(open, usage: TokenUsage(), isError: true)) }
        for call in state.pending where !call.isCustom {
            events.append(StepEvents.result(for: call, .error("The tool call was not run: the \(scope.noun) was interrupted.")))
        }
        events += turnEndHandler?.turnInterrupted(events: view.events) ?? []
        events.append(scope.idleEvent(["type": "end_turn"]))
        try await view.append(events)
    }

    /// After a restart: close the model request and tool calls the previous process left open.
    private func closeInterruptedWork(_ view: EventLogView) async throws {
        let state = view.turn
        var events: [SessionEvent] = []
        if let open = state.openModelRequestID {
            events.append(StepEvents.modelRequestEnd(open, usage: TokenUsage(), isError: true))
        }
        for call in state.pending where call.hadStarted(toolbox) {
            events.append(StepEvents.result(for: call, .error(
                "The tool call was interrupted by a server restart; it may or may not have completed. Check its effects before retrying.")))
        }
        if !events.isEmpty { try await view.append(events) }
    }
}
