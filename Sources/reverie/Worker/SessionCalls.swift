import ReverieCore

/// A worker's view of one session's built-in tool calls, folded from its events: which calls
/// may run now (allowed, or confirmed), which wait for a confirmation, which are answered,
/// and whether the session's turn is over. Events may arrive twice (the history read and the
/// live stream overlap); each counts once.
struct SessionCalls: Sendable {
    /// A built-in tool call to run.
    struct Call: Sendable, Equatable {
        var id: String
        var name: String
        var input: JSONValue
        var threadID: String?
    }

    /// The event types the worker reads; it skips the rest of the stream without decoding them.
    static let relevantTypes: Set<String> = [
        "agent.tool_use", "agent.tool_result", "user.tool_result", "user.tool_confirmation", "session.status_idle", "session.status_running",
        "session.status_terminated", "session.deleted", "user.message", "agent.message", "span.model_request_start",
    ]

    private var seen: Set<String> = []
    private var calls: [String: Call] = [:]
    private var order: [String] = []
    private var asks: Set<String> = []
    private var verdicts: [String: Bool] = [:]
    private var answered: Set<String> = []
    private var handedOut: Set<String> = []
    /// The session went idle with a stop reason other than `requires_action`, and nothing happened since.
    private(set) var turnEnded = false
    /// The session was terminated or deleted.
    private(set) var terminated = false

    /// Folds one event in.
    mutating func apply(_ event: JSONValue) {
        guard let id = event["id"]?.stringValue, let type = event["type"]?.stringValue, seen.insert(id).inserted else { return }
        switch type {
        case "agent.tool_use":
            let call = Call(
                id: id, name: event["name"]?.stringValue ?? "", input: event["input"] ?? [:], threadID: event["session_thread_id"]?.stringValue)
            calls[id] = call
            order.append(id)
            switch event["evaluated_permission"]?.stringValue {
            case "allow"?, nil: break
            case "deny"?: answered.insert(id)
            default: asks.insert(id)
            }
        case "user.tool_result", "agent.tool_result":
            if let callID = event["tool_use_id"]?.stringValue { answered.insert(callID) }
        case "user.tool_confirmation":
            if let callID = event["tool_use_id"]?.stringValue { verdicts[callID] = event["result"]?.stringValue == "allow" }
        case "session.status_terminated", "session.deleted":
            terminated = true
        default:
            break
        }
        switch type {
        case "session.status_idle":
            turnEnded = event["stop_reason"]?["type"]?.stringValue != "requires_action"
        case "user.tool_confirmation", "session.thread_status_terminated":
            break
        default:
            turnEnded = false
        }
    }

    /// Calls that may run now and were not handed out before, oldest first; marks them handed out.
    mutating func takeRunnable() -> [Call] {
        var runnable: [Call] = []
        for id in order where !answered.contains(id) && !handedOut.contains(id) {
            if asks.contains(id) {
                guard let allowed = verdicts[id] else { continue }
                if !allowed {
                    answered.insert(id)
                    continue
                }
            }
            if let call = calls[id] {
                handedOut.insert(id)
                runnable.append(call)
            }
        }
        return runnable
    }

    /// Whether calls remain that this worker has not answered (running, or waiting for a confirmation).
    var hasOpenCalls: Bool {
        order.contains { !answered.contains($0) && !(asks.contains($0) && verdicts[$0] == false) }
    }

    mutating func markAnswered(_ id: String) {
        answered.insert(id)
    }
}
