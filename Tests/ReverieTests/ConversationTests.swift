import Foundation
import ReverieCore
import ReverieModels
import ReverieRuntime
import Testing

/// The conversation the model is sent, rebuilt from a log event by event.
@Suite(.timeLimit(.minutes(3))) struct ConversationTests {
    func event(_ type: EventType, id: String = ResourceID.make(ResourceID.event), _ fields: [String: JSONValue]) -> SessionEvent {
        SessionEvent(id: id, type: type, fields: fields)
    }

    @Test func toolResultsLeadTheirUserTurnInOrder() {
        let events = [
            event(.userMessage, ["content": [["type": "text", "text": "go"]]]),
            event(.agentMessage, ["content": [["type": "text", "text": "two calls"]]]),
            event(.agentToolUse, id: "sevt_a", ["name": "bash", "input": ["command": "a"]]),
            event(.agentToolUse, id: "sevt_b", ["name": "bash", "input": ["command": "b"]]),
            event(.userMessage, ["content": [["type": "text", "text": "meanwhile"]]]),
            event(.agentToolResult, ["tool_use_id": "sevt_a", "content": [["type": "text", "text": "A"]], "is_error": false]),
            event(.systemMessage, ["content": [["type": "text", "text": "be brief"]]]),
            event(.agentToolResult, ["tool_use_id": "sevt_b", "content": [["type": "text", "text": "B"]], "is_error": true]),
        ]
        let (messages, additions) = Conversation.build(from: events)
        #expect(messages.map(\.role) == [.user, .assistant, .user])
        #expect(messages[1].content == [
            .text("two calls"), .toolUse(id: "sevt_a", name: "bash", input: ["command": "a"]), .toolUse(id: "sevt_b", name: "bash", input: ["command": "b"]),
        ])
        #expect(messages[2].content == [
            .toolResult(toolUseID: "sevt_a", content: [.text("A")], isError: false),
            .toolResult(toolUseID: "sevt_b", content: [.text("B")], isError: true),
            .text("meanwhile"),
        ])
        #expect(additions == ["be brief"])

        // Adding events one at a time gives the same conversation at every point.
        var incremental = Conversation()
        for (index, event) in events.enumerated() {
            incremental.add(event)
            let rebuilt = Conversation.build(from: Array(events.prefix(index + 1)))
            #expect(incremental.messages == rebuilt.messages)
        }
    }
}
