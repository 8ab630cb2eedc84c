import Foundation
import Testing
@testable import ReverieCore
@testable import ReverieRuntime

@Suite(.timeLimit(.minutes(3))) struct MCPRuntimeTests {
    @Test func toolNamesAreSafeAndCannotLookLikeBuiltins() {
        #expect(MCPToolNaming.modelName(server: "linear", tool: "create_issue") == "mcp__linear__create_issue")
        #expect(MCPToolNaming.modelName(server: "my server", tool: "files.read/all") == "mcp__my_server__files_read_all")
        #expect(MCPToolNaming.modelName(server: "é", tool: "ü").allSatisfy { $0.isASCII })
        #expect(MCPToolNaming.modelName(server: String(repeating: "s", count: 100), tool: String(repeating: "t", count: 100)).count == 128)
    }

    @Test func eventStreamResponsesAreRead() {
        let body = Data("""
            event: message\r
            data: {"jsonrpc":"2.0","method":"notifications/progress"}\r
            \r
            : a comment
            data: {"jsonrpc":"2.0",
            data:  "id":3,"result":{"ok":true}}

            data: not json

            """.utf8)
        let messages = MCPClient.eventStreamMessages(body)
        #expect(messages.count == 2)
        #expect(messages[1]["id"] == .int(3))
        #expect(messages[1]["result"]?["ok"] == .bool(true))
    }

    /// An `agent.mcp_tool_use` is a pending call under its model-facing name until its
    /// `agent.mcp_tool_result`; the conversation shows them as a tool_use / tool_result pair.
    @Test func mcpEventsFoldIntoTheTurnAndTheConversation() {
        let use = SessionEvent(type: .agentMCPToolUse, fields: [
            "mcp_server_name": "fixture", "name": "echo", "input": ["text": "hi"], "evaluated_permission": "ask",
        ])
        var state = TurnState(events: [SessionEvent(type: .userMessage, fields: ["content": [["type": "text", "text": "go"]]]), use])
        #expect(state.next == .handleCalls)
        let pending = state.pending
        #expect(pending.count == 1 && pending[0].isMCP && pending[0].name == "mcp__fixture__echo" && pending[0].asksConfirmation)
        let result = StepEvents.result(for: pending[0], .text("echo: hi"))
        #expect(result.type == .agentMCPToolResult)
        #expect(result.fields["mcp_tool_use_id"]?.stringValue == use.id && result.fields["tool_use_id"] == nil)
        state.apply(result)
        #expect(state.pending.isEmpty && state.next == .callModel)

        guard case (.assistant, let blocks)? = Conversation.turn(of: use), case .toolUse(let id, let name, _)? = blocks.first else {
            Issue.record("no tool_use block")
            return
        }
        #expect(id == use.id && name == "mcp__fixture__echo")
        guard case (.user, let resultBlocks)? = Conversation.turn(of: result), case .toolResult(let toolUseID, _, let isError)? = resultBlocks.first else {
            Issue.record("no tool_result block")
            return
        }
        #expect(toolUseID == use.id && !isError)
    }
}
