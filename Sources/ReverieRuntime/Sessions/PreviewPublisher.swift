import ReverieCore
import ReverieModels
import Synchronization

/// Publishes streaming previews of the `agent.message` being generated (`event_start`
/// once, then `event_delta` per text fragment) to live subscribers that asked for them.
final class PreviewPublisher: Sendable {
    private let hub: EventHub
    private let sessionID: String
    private let messageID: String
    private let started = Mutex(false)

    init(hub: EventHub, sessionID: String, messageID: String) {
        self.hub = hub
        self.sessionID = sessionID
        self.messageID = messageID
    }

    func publish(_ event: ModelStreamEvent) async {
        guard case .textDelta(let index, let text) = event else { return }
        let first = started.withLock { started -> Bool in
            defer { started = true }
            return !started
        }
        if first {
            let start: JSONValue = ["type": "event_start", "event": ["id": .string(messageID), "type": "agent.message"]]
            if let json = try? JSONCoding.string(start) { hub.publishPreview(sessionID: sessionID, of: .agentMessage, frame: "event_start", json: json) }
        }
        let delta: JSONValue = [
            "type": "event_delta", "event_id": .string(messageID),
            "delta": ["type": "content_delta", "index": .int(Int64(index)), "content": ["type": "text", "text": .string(text)]],
        ]
        if let json = try? JSONCoding.string(delta) { hub.publishPreview(sessionID: sessionID, of: .agentMessage, frame: "event_delta", json: json) }
    }
}
