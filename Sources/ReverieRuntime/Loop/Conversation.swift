import ReverieCore
import ReverieExecution
import ReverieModels

/// Rebuilds the model conversation from an event log.
///
/// User-side events (messages, tool results, outcome definitions and grader feedback)
/// become user turns; the agent's messages and tool calls become assistant turns. Tool
/// calls are identified by their event ids, so results match them across restarts.
public struct Conversation: Sendable {
    /// The messages to send.
    public private(set) var messages: [ModelMessage] = []
    /// Text to append to the system prompt (`system.message`).
    public private(set) var systemAdditions: [String] = []

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
        switch event.type {
        case .userMessage:
            add(.user, Self.userBlocks(event.fields["content"]))
        case .agentThreadMessageReceived:
            let from = event.fields["from_agent_name"]?.stringValue ?? "another agent"
            add(.user, [.text("[Message from \(from)]")] + Self.userBlocks(event.fields["content"]))
        case .systemMessage:
            systemAdditions.append(event.text)
        case .userDefineOutcome:
            let description = event.fields["description"]?.stringValue ?? ""
            let rubric = event.fields["rubric"]?["content"]?.stringValue ?? ""
            add(.user, [.text("Work toward this outcome:\n\(description)\n\nIt will be graded against this rubric:\n\(rubric)\n\nWrite deliverables under /mnt/session/outputs/ when they are files.")])
        case .spanOutcomeEvaluationEnd where event.fields["result"] == "needs_revision":
            let explanation = event.fields["explanation"]?.stringValue ?? ""
            add(.user, [.text("A grader reviewed your work and it needs revision:\n\(explanation)\n\nRevise the deliverable to address every gap.")])
        case .spanOutcomeEvaluationEnd where event.fields["result"] == "max_iterations_reached":
            let explanation = event.fields["explanation"]?.stringValue ?? ""
            add(.user, [.text("""
                A grader reviewed your work again and it still needs revision, but the evaluation budget is used up: \
                there will be no more evaluations.
                \(explanation)

                Briefly tell the user which gaps remain. Do not start another revision.
                """)])
        case .agentMessage:
            add(.assistant, (event.fields["content"]?.arrayValue ?? []).compactMap { block in
                block["type"] == "text" ? block["text"]?.stringValue.map(ContentBlock.text) : nil
            })
        case .agentToolUse, .agentCustomToolUse:
            add(.assistant, [.toolUse(id: event.id, name: event.fields["name"]?.stringValue ?? "", input: event.fields["input"] ?? [:])])
        case .agentToolResult, .userToolResult:
            if let id = event.fields["tool_use_id"]?.stringValue {
                add(.user, [Self.toolResult(id, event)])
            }
        case .userCustomToolResult:
            if let id = event.fields["custom_tool_use_id"]?.stringValue {
                add(.user, [Self.toolResult(id, event)])
            }
        default:
            break
        }
    }

    /// Adds blocks to the last message when it has the same role, else starts a message.
    /// Tool results lead their user turn (the APIs require it), in the order they came.
    private mutating func add(_ role: ModelMessage.Role, _ blocks: [ContentBlock]) {
        guard !blocks.isEmpty else { return }
        guard let last = messages.indices.last, messages[last].role == role else {
            messages.append(ModelMessage(role: role, content: []))
            add(role, blocks)
            return
        }
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
