import ReverieCore

extension SessionService {
    /// A worker's `user.tool_result` may name no thread (the SDK's session runner sends none): it
    /// belongs to the thread of the call it answers.
    func placeToolResults(_ events: [SessionEvent], sessionID: String) async throws -> [SessionEvent] {
        var placed = events
        for index in placed.indices where placed[index].type == .userToolResult && placed[index].threadID == nil {
            guard let id = placed[index].fields["tool_use_id"]?.stringValue, let call = try await log.event(sessionID: sessionID, id: id) else { continue }
            placed[index].threadID = call.threadID
        }
        return placed
    }
}
