import ReverieCore
import ReverieExecution
import ReverieModels

/// Rebuilds the model conversation from an event log.
///
/// User-side events (messages, tool results, outcome definitions and grader feedback)
/// become user turns; the agent's messages and tool calls become assistant turns. Tool
/// calls are identified by their event ids, so results match them across restarts.
///
/// An `agent.thread_context_compacted` event replaces the messages before the one it keeps
/// from by its summary, so the view after a compaction is rebuilt from the log alone. The
/// conversation also keeps the size estimate compaction decides on: the tokens the provider
/// reported for the thread's last model request, plus an estimate of what was added since.
public struct Conversation: Sendable {
    /// The messages to send.
    public private(set) var messages: [ModelMessage] = []
    /// For each message, the id of the event it starts with (for a summary: the compaction event).
    public private(set) var messageEventIDs: [String] = []
    /// Text to append to the system prompt (`system.message`).
    public private(set) var systemAdditions: [String] = []
    /// What the provider reported for the last model request (input, cache reads and writes,
    /// and output, which is now part of the conversation); nil before the first, and after a
    /// compaction.
    public private(set) var reportedTokens: Int?
    /// The estimated tokens of messages added since `reportedTokens` (of every message when it is nil).
    public private(set) var addedTokens = 0
    /// A compaction's own model request is open: its usage says nothing about the conversation.
    private var compactionRequestOpen = false

    public init() {}

    /// The messages to send, and text to append to the system prompt (`system.message`).
    public static func build(from events: [SessionEvent]) -> (messages: [ModelMessage], systemAdditions: [String]) {
        var conversation = Conversation()
        for event in events { conversation.add(event) }
        return (conversation.messages, conversation.systemAdditions)
    }

    /// Adds the next event of the log (the session loop keeps its conversation up to date
    /// this way instead of rebuilding it for every model call).
    public mutating func add(_ event: SessionEvent) {
        if let (role, blocks) = Self.turn(of: event) {
            add(role, blocks, eventID: event.id)
            return
        }
        switch event.type {
        case .systemMessage:
            systemAdditions.append(event.text)
        case .spanModelRequestStart:
            compactionRequestOpen = event.fields["purpose"] == "compaction"
        case .spanModelRequestEnd:
            if compactionRequestOpen {
                compactionRequestOpen = false
            } else if event.fields["is_error"]?.boolValue != true, let usage = event.fields["model_usage"] {
                let counts = ["input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens"]
                reportedTokens = counts.reduce(0) { $0 + Int(usage[$1]?.intValue ?? 0) }
                addedTokens = 0
            }
        case .agentThreadContextCompacted:
            compact(summary: event.fields["summary"]?.stringValue ?? "", keptFrom: event.fields["kept_from_event_id"]?.stringValue, eventID: event.id)
        default:
            break
        }
    }

    /// The role and blocks an event adds to the conversation, if it adds any.
    static func turn(of event: SessionEvent) -> (ModelMessage.Role, [ContentBlock])? {
        switch event.type {
        case .userMessage:
            return (.user, userBlocks(event.fields["content"]))
        case .agentThreadMessageReceived:
            let from = event.fields["from_agent_name"]?.stringValue ?? "another agent"
            return (.user, [.text("[Message from \(from)]")] + userBlocks(event.fields["content"]))
        case .userDefineOutcome:
            let description = event.fields["description"]?.stringValue ?? ""
            let rubric = event.fields["rubric"]?["content"]?.stringValue ?? ""
            return (.user, [.text("Work toward this outcome:\n\(description)\n\nIt will be graded against this rubric:\n\(rubric)\n\nWrite deliverables under /mnt/session/outputs/ when they are files.")])
        case .spanOutcomeEvaluationEnd where event.fields["result"] == "needs_revision":
            let explanation = event.fields["explanation"]?.stringValue ?? ""
            return (.user, [.text("A grader reviewed your work and it needs revision:\n\(explanation)\n\nRevise the deliverable to address every gap.")])
        case .spanOutcomeEvaluationEnd where event.fields["result"] == "max_iterations_reached":
            let explanation = event.fields["explanation"]?.stringValue ?? ""
            return (.user, [.text("""
                A grader reviewed your work again and it still needs revision, but the evaluation budget is used up: \
                there will be no more evaluations.
                \(explanation)

                Briefly tell the user which gaps remain. Do not start another revision.
                """)])
        case .agentMessage:
            return (.assistant, (event.fields["content"]?.arrayValue ?? []).compactMap { block in
                block["type"] == "text" ? block["text"]?.stringValue.map(ContentBlock.text) : nil
            })
        case .agentToolUse, .agentCustomToolUse:
            return (.assistant, [.toolUse(id: event.id, name: event.fields["name"]?.stringValue ?? "", input: event.fields["input"] ?? [:])])
        case .agentMCPToolUse:
            let name = MCPToolNaming.modelName(server: event.fields["mcp_server_name"]?.stringValue ?? "", tool: event.fields["name"]?.stringValue ?? "")
            return (.assistant, [.toolUse(id: event.id, name: name, input: event.fields["input"] ?? [:])])
        case .agentToolResult, .userToolResult:
            return event.fields["tool_use_id"]?.stringValue.map { (.user, [toolResult($0, event)]) }
        case .agentMCPToolResult:
            return event.fields["mcp_tool_use_id"]?.stringValue.map { (.user, [toolResult($0, event)]) }
        case .userCustomToolResult:
            return event.fields["custom_tool_use_id"]?.stringValue.map { (.user, [toolResult($0, event)]) }
        default:
            return nil
        }
    }

    /// The estimated input tokens of the next request: what the provider reported for the last
    /// one plus what was added since, or, before any report, `fixedTokens` (the system prompt
    /// and tools) plus every message.
    public func estimatedTokens(fixedTokens: Int) -> Int {
        (reportedTokens ?? fixedTokens) + addedTokens
    }

    /// The user message that stands for the compacted part of a conversation.
    static func summaryMessage(_ summary: String) -> ModelMessage {
        .user("""
            [The earlier part of this conversation was compacted to fit the context window. Summary of it:]

            \(summary)
            """)
    }

    /// Replaces the messages before the one that starts with `keptFrom` by the summary. The
    /// kept part starts with an assistant message, so the roles still alternate. A
    /// compaction whose message is not found (a log from another version) is ignored.
    private mutating func compact(summary: String, keptFrom: String?, eventID: String) {
        guard let keptFrom, let cut = messageEventIDs.firstIndex(of: keptFrom), cut > 0, messages[cut].role == .assistant else { return }
        messages = [Self.summaryMessage(summary)] + messages[cut...]
        messageEventIDs = [eventID] + messageEventIDs[cut...]
        reportedTokens = nil
        addedTokens = ContextEstimate.tokens(messages)
    }

    /// Adds blocks to the last message when it has the same role, else starts a message.
    /// Tool results lead their user turn (the APIs require it), in the order they came.
    private mutating func add(_ role: ModelMessage.Role, _ blocks: [ContentBlock], eventID: String) {
        guard !blocks.isEmpty else { return }
        addedTokens += ContextEstimate.tokens(blocks)
        if messages.last?.role != role {
            messages.append(ModelMessage(role: role, content: []))
            messageEventIDs.append(eventID)
            addedTokens += ContextEstimate.messageOverhead
        }
        let last = messages.count - 1
        for block in blocks {
            if role == .user, case .toolResult = block {
                let firstOther = messages[last].content.firstIndex { if case .toolResult = $0 { false } else { true } }
                messages[last].content.insert(block, at: firstOther ?? messages[last].content.endIndex)
            } else {
                messages[last].content.append(block)
            }
        }
    }

    static func userBlocks(_ content: JSONValue?) -> [ContentBlock] {
        (content?.arrayValue ?? []).compactMap { block in
            switch block["type"]?.stringValue {
            case "text": return block["text"]?.stringValue.map(ContentBlock.text)
            case "image", "document": return .media(block)
            default: return nil
            }
        }
    }

    static func toolResult(_ id: String, _ event: SessionEvent) -> ContentBlock {
        let content: [ToolResultContent] = (event.fields["content"]?.arrayValue ?? []).compactMap { block in
            switch block["type"]?.stringValue {
            case "text": return block["text"]?.stringValue.map(ToolResultContent.text)
            case "image", "document": return .media(block)
            case "search_result": return .text(block["content"]?.arrayValue?.compactMap { $0["text"]?.stringValue }.joined(separator: "\n") ?? "")
            default: return nil
            }
        }
        return .toolResult(toolUseID: id, content: content, isError: event.fields["is_error"]?.boolValue ?? false)
    }
}
