import ReverieModels

/// Where a compaction cuts a conversation: the messages before the cut are summarised, the
/// ones from it on are kept as they are.
enum CompactionCut {
    /// The index of the first kept message: an assistant message (so the kept part follows
    /// the summary's user message and every tool result stays with its call), as early as
    /// keeps at most `keepTokens`, else the last one. Nil when no message after the first is
    /// an assistant message (nothing can be summarised).
    static func choose(_ messages: [ModelMessage], keepTokens: Int) -> Int? {
        let candidates = messages.indices.dropFirst().filter { messages[$0].role == .assistant }
        guard let last = candidates.last else { return nil }
        var kept = 0
        var cut = last
        var index = messages.count - 1
        for candidate in candidates.reversed() {
            while index >= candidate {
                kept += ContextEstimate.tokens([messages[index]])
                index -= 1
            }
            guard kept <= keepTokens else { break }
            cut = candidate
        }
        return cut
    }
}
