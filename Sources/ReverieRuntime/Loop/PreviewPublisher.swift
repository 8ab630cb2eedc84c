import ReverieCore
import ReverieModels
import Synchronization

/// Publishes streaming previews of the `agent.message` being generated (`event_start`
/// once, then `event_delta` per text fragment) to live subscribers that asked for them.
///
/// A retried model call streams its reply again from the start, so `restart()` abandons the
/// current preview and the next fragment opens a new one under a new event id; the final
/// `agent.message` carries the id of the preview that completed (`messageID`).
final class PreviewPublisher: Sendable {
    private let hub: EventHub
    private let sessionID: String
    private let state: Mutex<(messageID: String, started: Bool)>

    init(hub: EventHub, sessionID: String) {
        self.hub = hub
        self.sessionID = sessionID
        self.state = Mutex((ResourceID.make(ResourceID.event), false))
    }

    /// The id of the `agent.message` the current preview announces.
    var messageID: String { state.withLock { $0.messageID } }

    /// Abandons the current preview (a failed attempt): later fragments start a new one.
    func restart() {
        state.withLock { $0 = (ResourceID.make(ResourceID.event), false) }
    }

    func publish(_ event: ModelStreamEvent) async {
        guard case .textDelta(let index, let text) = event else { return }
        // Nobody is watching: skip building the frames (a later subscriber gets the final event).
        guard hub.subscriberCount(sessionID: sessionID) > 0 else { return }
        let (messageID, first) = state.withLock { state -> (String, Bool) in
            defer { state.started = true }
            return (state.messageID, !state.started)
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
