import Foundation
import ReverieCore
import ReverieModels

/// The tools the dreamer answers through: each tool's input schema is the shape of the answer,
/// so both providers return it as structured tool input rather than prose.
public enum DreamerTool {
    static let evidenceSchema: JSONValue = [
        "type": "array", "minItems": 1,
        "description": "The events the item rests on, by session label and event reference.",
        "items": [
            "type": "object", "required": ["session", "events"],
            "properties": [
                "session": ["type": "string", "description": "Session label, e.g. S2"],
                "events": ["type": "array", "minItems": 1, "items": ["type": "string", "description": "Event reference, e.g. e14"]],
            ],
        ],
    ]

    public static let lessons = ToolDefinition(
        name: "record_lessons",
        description: "Record the lessons the session digests teach, each citing the events it rests on.",
        inputSchema: [
            "type": "object", "required": ["candidates"],
            "properties": [
                "candidates": [
                    "type": "array",
                    "items": [
                        "type": "object", "required": ["kind", "text", "evidence"],
                        "properties": [
                            "kind": ["type": "string", "enum": .array(LessonCandidate.Kind.allCases.map { .string($0.rawValue) })],
                            "text": ["type": "string", "minLength": 1, "description": "One concise, reusable lesson"],
                            "evidence": evidenceSchema,
                        ],
                    ],
                ],
            ],
        ])

    public static let operations = ToolDefinition(
        name: "propose_operations",
        description: "Propose delta operations on the memory store, each with a rationale and evidence.",
        inputSchema: [
            "type": "object", "required": ["operations"],
            "properties": [
                "operations": [
                    "type": "array",
                    "items": [
                        "type": "object", "required": ["op", "path"],
                        "properties": [
                            "op": ["type": "string", "enum": ["add", "update", "delete", "keep"]],
                            "path": ["type": "string", "minLength": 1, "description": "Absolute memory path, e.g. /lessons/run-tests.md"],
                            "content": ["type": "string", "description": "The full new content, for add and update"],
                            "rationale": ["type": "string"],
                            "evidence": evidenceSchema,
                        ],
                    ],
                ],
            ],
        ])
}

/// One dreamer reply, read: the answer (from the tool call, or failing that from JSON in the
/// text) and every way it departs from the tool's schema.
struct DreamerReply: Sendable {
    var answer: JSONValue?
    var problems: [String]
    /// The tool call the answer came from, when it came from one.
    var toolUseID: String?

    init(_ content: [ContentBlock], tool: ToolDefinition) {
        let key = (tool.inputSchema["required"]?.arrayValue?.first?.stringValue) ?? ""
        for block in content {
            guard case .toolUse(let id, let name, let input) = block, name == tool.name else { continue }
            answer = input
            toolUseID = id
            problems = JSONSchemaCheck.problems(input, against: tool.inputSchema)
            return
        }
        toolUseID = nil
        if let json = DreamPrompts.json(in: content, key: key) {
            answer = json
            problems = JSONSchemaCheck.problems(json, against: tool.inputSchema)
        } else {
            answer = nil
            problems = ["the reply held no \(tool.name) call and no JSON object with \"\(key)\""]
        }
    }

    /// The turns that tell the dreamer what was wrong and ask it to answer again.
    func correction(of content: [ContentBlock], tool: ToolDefinition) -> [ModelMessage] {
        let listed = problems.prefix(20).map { "- \($0)" }.joined(separator: "\n")
        let ask = "Your answer does not match the \(tool.name) schema:\n\(listed)\nCall \(tool.name) again with a corrected, complete answer."
        if let toolUseID {
            return [
                ModelMessage(role: .assistant, content: content),
                ModelMessage(role: .user, content: [.toolResult(toolUseID: toolUseID, content: [.text(ask)], isError: true)]),
            ]
        }
        let text = content.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: "\n")
        return [.assistant(text.isEmpty ? "(no text)" : text), .user(ask)]
    }
}
