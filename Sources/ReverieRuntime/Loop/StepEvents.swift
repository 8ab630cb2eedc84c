import ReverieCore
import ReverieExecution
import ReverieModels

/// The events an agent step records, built the same way by the session loop and by thread
/// loops.
enum StepEvents {
    /// `session.error` with its retry status (`retrying`, `exhausted` or `terminal`).
    static func error(type: String, message: String, retry: String) -> SessionEvent {
        SessionEvent(type: .sessionError, fields: [
            "error": ["type": .string(type), "message": .string(message), "retry_status": ["type": .string(retry)]],
        ])
    }

    /// `session.error` with `retry_status: retrying` for a failed model call about to be retried.
    static func retrying(_ attempt: RetryAttempt) -> SessionEvent {
        let failure = ModelFailure(attempt.error)
        let wait = String(format: "%.1f", attempt.delay.seconds)
        return error(
            type: failure.errorType, message: "\(failure.message) (attempt \(attempt.attempt) of \(attempt.maxAttempts); retrying in \(wait) s)",
            retry: "retrying")
    }

    /// `span.model_request_end`; `listCostMicros` (the call's list cost, when its model has a
    /// price) is what a session's `usage.list_cost` and its budget add up.
    static func modelRequestEnd(_ startID: String, usage: TokenUsage, isError: Bool, listCostMicros: Int64? = nil) -> SessionEvent {
        var event = SessionEvent(type: .spanModelRequestEnd, fields: [
            "model_request_start_id": .string(startID), "is_error": .bool(isError),
            "model_usage": [
                "input_tokens": .int(Int64(usage.inputTokens)), "output_tokens": .int(Int64(usage.outputTokens)),
                "cache_read_input_tokens": .int(Int64(usage.cacheReadInputTokens)),
                "cache_creation_input_tokens": .int(Int64(usage.cacheCreationInputTokens)),
            ],
        ])
        if let listCostMicros { event.fields["list_cost_micros"] = .int(listCostMicros) }
        return event
    }

    static func toolResult(_ toolUseID: String, _ output: ToolOutput) -> SessionEvent {
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

    /// `agent.mcp_tool_result`, answering an `agent.mcp_tool_use`.
    static func mcpToolResult(_ mcpToolUseID: String, _ output: ToolOutput) -> SessionEvent {
        var event = toolResult(mcpToolUseID, output)
        event.type = .agentMCPToolResult
        event.fields["mcp_tool_use_id"] = event.fields.removeValue(forKey: "tool_use_id")
        return event
    }

    /// The result event of a pending call: `agent.mcp_tool_result` for an MCP tool, else `agent.tool_result`.
    static func result(for call: TurnState.PendingCall, _ output: ToolOutput) -> SessionEvent {
        call.isMCP ? mcpToolResult(call.eventID, output) : toolResult(call.eventID, output)
    }

    /// The event of one tool call the model made: `agent.custom_tool_use` for a custom tool
    /// (the client runs it), `agent.mcp_tool_use` for an MCP server's tool (with the server's
    /// names for the server and the tool), else `agent.tool_use`, with the permission its policy gives.
    static func toolUse(_ name: String, input: JSONValue, toolbox: Toolbox) -> SessionEvent {
        if toolbox.isCustom(name) {
            return SessionEvent(type: .agentCustomToolUse, fields: ["name": .string(name), "input": input])
        }
        let asks = toolbox.policy(for: name) == .alwaysAsk
        if let tool = toolbox.mcpTool(named: name) {
            return SessionEvent(type: .agentMCPToolUse, fields: [
                "mcp_server_name": .string(tool.serverName), "name": .string(tool.name), "input": input,
                "evaluated_permission": asks ? "ask" : "allow",
                "evaluation": ["type": asks ? "always_ask" : "always_allow"],
            ])
        }
        return SessionEvent(type: .agentToolUse, fields: [
            "name": .string(name), "input": input,
            "evaluated_permission": asks ? "ask" : "allow",
            "evaluation": ["type": asks ? "always_ask" : "always_allow"],
        ])
    }

    /// The events of a model reply: `agent.thinking`, one `agent.message` (under `messageID`
    /// when given, so it keeps the id its live previews had), then a tool-use event per call,
    /// each made by `toolUse`.
    static func reply(_ response: ModelResponse, messageID: String? = nil, toolbox: Toolbox) -> [SessionEvent] {
        var produced: [SessionEvent] = []
        var text: [JSONValue] = []
        for block in response.content {
            switch block {
            case .thinking: produced.append(SessionEvent(type: .agentThinking))
            case .text(let value): if !value.isEmpty { text.append(["type": "text", "text": .string(value)]) }
            case .toolUse, .toolResult, .media: break
            }
        }
        if !text.isEmpty {
            produced.append(SessionEvent(id: messageID ?? ResourceID.make(ResourceID.event), type: .agentMessage, fields: ["content": .array(text)]))
        }
        for case .toolUse(_, let name, let input) in response.content { produced.append(toolUse(name, input: input, toolbox: toolbox)) }
        return produced
    }
}

extension LoopControl {
    /// Calls the model so that an interrupt cancels the call. A retrying provider reports each
    /// failed attempt it will retry to `onRetry`; `onEvent` receives the reply's stream events.
    func complete(
        _ request: ModelRequest, with provider: any ModelProvider, onEvent: @escaping @Sendable (ModelStreamEvent) async -> Void,
        onRetry: @escaping @Sendable (RetryAttempt) async -> Void
    ) async throws -> ModelResponse {
        try await perform {
            guard let retrying = provider as? RetryingModelProvider else { return try await provider.complete(request, onEvent: onEvent) }
            return try await retrying.complete(request, onEvent: onEvent, onRetry: onRetry)
        }
    }
}
