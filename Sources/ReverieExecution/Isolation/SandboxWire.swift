import Foundation
import ReverieCore
import ReverieModels

/// The messages between the server and the tool server inside a sandbox: one JSON object per
/// line, each way. The server sends `{"id":1,"tool":"bash","input":{…}}` to run a call,
/// `{"id":2,"check":{"command":"…","timeout_seconds":120}}` to run a rubric's check, and
/// `{"id":1,"cancel":true}` to stop either; the tool server answers each once with
/// `{"id":1,"content":[…],"is_error":false}` (a check's content is its `CheckResult` as JSON
/// text), and says `{"ready":true}` when it has started.
enum SandboxWire {
    /// A line from the server.
    enum Request: Sendable, Equatable {
        case run(id: Int, tool: String, input: JSONValue)
        case check(id: Int, command: String, timeoutSeconds: Int)
        case cancel(id: Int)
    }

    static func encode(_ request: Request) -> String {
        let value: JSONValue = switch request {
        case .run(let id, let tool, let input): ["id": .int(Int64(id)), "tool": .string(tool), "input": input]
        case .check(let id, let command, let seconds):
            ["id": .int(Int64(id)), "check": ["command": .string(command), "timeout_seconds": .int(Int64(seconds))]]
        case .cancel(let id): ["id": .int(Int64(id)), "cancel": true]
        }
        return line(value)
    }

    static func decodeRequest(_ text: Substring) -> Request? {
        guard let value = try? JSONCoding.decode(JSONValue.self, from: Data(text.utf8)), let id = value["id"]?.intValue else { return nil }
        if value["cancel"]?.boolValue == true { return .cancel(id: Int(id)) }
        if let check = value["check"] {
            guard let command = check["command"]?.stringValue, let seconds = check["timeout_seconds"]?.intValue, seconds > 0 else { return nil }
            return .check(id: Int(id), command: command, timeoutSeconds: Int(seconds))
        }
        guard let tool = value["tool"]?.stringValue else { return nil }
        return .run(id: Int(id), tool: tool, input: value["input"] ?? [:])
    }

    /// A line from the tool server.
    enum Reply: Sendable, Equatable {
        case ready
        case output(id: Int, ToolOutput)
    }

    static func encode(_ reply: Reply) -> String {
        switch reply {
        case .ready:
            return line(["ready": true])
        case .output(let id, let output):
            let content: [JSONValue] = output.content.map { item in
                switch item {
                case .text(let text): ["type": "text", "text": .string(text)]
                case .media(let block): block
                }
            }
            return line(["id": .int(Int64(id)), "content": .array(content), "is_error": .bool(output.isError)])
        }
    }

    static func decodeReply(_ text: Substring) -> Reply? {
        guard let value = try? JSONCoding.decode(JSONValue.self, from: Data(text.utf8)) else { return nil }
        if value["ready"]?.boolValue == true { return .ready }
        guard let id = value["id"]?.intValue, let content = value["content"]?.arrayValue else { return nil }
        let items: [ToolResultContent] = content.map { block in
            if block["type"]?.stringValue == "text" { return .text(block["text"]?.stringValue ?? "") }
            return .media(block)
        }
        return .output(id: Int(id), ToolOutput(content: items, isError: value["is_error"]?.boolValue ?? false))
    }

    private static func line(_ value: JSONValue) -> String {
        // JSON text never holds a raw newline, so one value is one line.
        ((try? JSONCoding.string(value)) ?? "{}") + "\n"
    }
}
