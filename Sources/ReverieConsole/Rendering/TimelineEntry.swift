import Foundation
import ReverieCore

/// One event of a session's timeline, as the `entry` template reads it. Everything in it came
/// from the log and is rendered escaped.
struct TimelineEntry {
    /// Tool output longer than this (characters or lines) is folded behind a `<details>`.
    static let foldCharacters = 2_000
    static let foldLines = 30

    let event: StoredEvent
    let decoded: SessionEvent?
    var data: [String: Any]

    /// When the matching `span.model_request_start` happened, for a request span's duration.
    typealias StartLookup = (String) async -> Date?

    init(_ event: StoredEvent, threadNames: [String: String], startOf: StartLookup) async {
        self.event = event
        let decoded = try? event.event()
        self.decoded = decoded
        let fields = decoded?.fields ?? [:]
        var data: [String: Any] = [
            "id": event.id, "session": event.sessionID, "seq": Int(event.sequence), "type": event.type.rawValue, "time": DisplayFormat.shortDate(event.processedAt),
            "thread": event.threadID ?? "", "threadName": event.threadID.flatMap { threadNames[$0] } ?? "",
            "raw": decoded.map { DisplayFormat.pretty($0.json) } ?? event.json,
        ]
        var kind = "other"
        switch event.type {
        case .userMessage, .agentMessage, .systemMessage, .agentThreadMessageSent, .agentThreadMessageReceived:
            kind = "message"
            data["role"] = event.type.rawValue.hasPrefix("user") ? "user" : event.type == .systemMessage ? "system" : "agent"
            data["label"] = Self.label(event.type)
            data["text"] = decoded.map { Self.text(of: $0.fields) } ?? ""
        case .agentThinking:
            kind = "thinking"
            data["text"] = Self.text(of: fields)
        case .agentToolUse, .agentCustomToolUse, .agentMCPToolUse:
            kind = "tool"
            data["name"] = fields["name"]?.stringValue ?? "tool"
            data["input"] = fields["input"].map(DisplayFormat.pretty) ?? "{}"
            data["asks"] = fields["evaluated_permission"]?.stringValue == "ask"
            data["custom"] = event.type == .agentCustomToolUse
        case .agentToolResult, .agentMCPToolResult, .userCustomToolResult, .userToolResult:
            kind = "result"
            let output = Self.text(of: fields)
            data["toolUseID"] = fields["tool_use_id"]?.stringValue ?? fields["mcp_tool_use_id"]?.stringValue ?? fields["custom_tool_use_id"]?.stringValue ?? ""
            data["isError"] = fields["is_error"]?.boolValue ?? false
            data.merge(Self.folded(output)) { _, new in new }
        case .userToolConfirmation:
            kind = "confirmation"
            data["toolUseID"] = fields["tool_use_id"]?.stringValue ?? ""
            data["allowed"] = fields["result"]?.stringValue == "allow"
            data["denyMessage"] = fields["deny_message"]?.stringValue ?? ""
        case .userInterrupt:
            kind = "interrupt"
        case .sessionError:
            kind = "error"
            let error = fields["error"]?.objectValue ?? [:]
            data["errorType"] = error["type"]?.stringValue ?? "error"
            data["message"] = error["message"]?.stringValue ?? ""
        case .spanModelRequestStart:
            kind = "span"
            data["label"] = "model request started"
        case .spanModelRequestEnd:
            kind = "span"
            data["label"] = (fields["is_error"]?.boolValue ?? false) ? "model request failed" : "model request"
            if let startID = fields["model_request_start_id"]?.stringValue, let start = await startOf(startID) {
                data["duration"] = String(format: "%.2f s", event.processedAt.timeIntervalSince(start))
            }
            if let usage = fields["model_usage"]?.objectValue {
                data["tokens"] = "\(usage["input_tokens"]?.intValue ?? 0) in / \(usage["output_tokens"]?.intValue ?? 0) out"
                    + ((usage["cache_read_input_tokens"]?.intValue ?? 0) > 0 ? " / \(usage["cache_read_input_tokens"]?.intValue ?? 0) cached" : "")
            }
        case .spanOutcomeEvaluationStart, .spanOutcomeEvaluationOngoing:
            kind = "span"
            data["label"] = event.type == .spanOutcomeEvaluationStart ? "outcome evaluation started" : "outcome evaluation ongoing"
        case .spanOutcomeEvaluationEnd:
            kind = "outcome"
            data["result"] = fields["result"]?.stringValue ?? ""
            data["satisfied"] = fields["result"]?.stringValue == "satisfied"
            data["explanation"] = fields["explanation"]?.stringValue ?? ""
            data["criteria"] = (fields["criteria"]?.arrayValue ?? []).map { item -> [String: Any] in
                ["criterion": item["criterion"]?.stringValue ?? "", "passed": item["passed"]?.boolValue ?? false,
                 "reason": item["reason"]?.stringValue ?? ""]
            }
        case .sessionUsage:
            kind = "status"
            data["label"] = "usage"
        case .agentThreadContextCompacted:
            kind = "status"
            data["label"] = "older turns compacted into a summary"
        default:
            if event.type.rawValue.hasPrefix("session.") {
                kind = "status"
                var label = event.type.rawValue.replacingOccurrences(of: "session.", with: "").replacingOccurrences(of: "_", with: " ")
                if let reason = fields["stop_reason"]?["type"]?.stringValue { label += " (\(reason.replacingOccurrences(of: "_", with: " ")))" }
                data["label"] = label
            }
        }
        data["kind"] = kind
        data["is_" + kind] = true
        self.data = data
    }

    var kind: String { data["kind"] as? String ?? "other" }
    var toolUseID: String? { kind == "result" || kind == "confirmation" ? data["toolUseID"] as? String : nil }

    static func label(_ type: EventType) -> String {
        switch type {
        case .userMessage: "user"
        case .agentMessage: "agent"
        case .systemMessage: "system"
        case .agentThreadMessageSent: "sent to thread"
        case .agentThreadMessageReceived: "received from thread"
        default: type.rawValue
        }
    }

    /// The text blocks of `content` (or a string `content`), joined.
    static func text(of fields: [String: JSONValue]) -> String {
        if let text = fields["content"]?.stringValue { return text }
        var parts: [String] = []
        for block in fields["content"]?.arrayValue ?? [] {
            if let text = block["text"]?.stringValue {
                parts.append(text)
            } else if let thinking = block["thinking"]?.stringValue {
                parts.append(thinking)
            } else if let type = block["type"]?.stringValue {
                parts.append("[\(type)]")
            }
        }
        if parts.isEmpty, let thinking = fields["thinking"]?.stringValue { return thinking }
        return parts.joined(separator: "\n")
    }

    /// `output`, with `long`, a `preview` and the line count when it is long enough to fold.
    static func folded(_ output: String) -> [String: Any] {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        guard output.count > foldCharacters || lines.count > foldLines else { return ["output": output, "long": false] }
        let preview = lines.prefix(foldLines).joined(separator: "\n")
        return ["output": output, "long": true, "preview": String(preview.prefix(foldCharacters)), "lineCount": lines.count,
                "characterCount": output.count]
    }
}
