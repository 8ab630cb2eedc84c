import Foundation

/// The transcript formats `reverie import` reads. See docs/importing.md.
public enum TranscriptFormat: String, Sendable, CaseIterable, Equatable {
    /// Claude Code session files (`~/.claude/projects/…/<session>.jsonl`).
    case claudeCode = "claude-code"
    /// OpenAI chat-completions conversations: a `{"messages": […]}` document, a JSON array,
    /// or JSON Lines of conversations, request/response records or single messages.
    case openAIChat = "openai-chat"
    /// Generic trajectories: one turn per line, with optional success and reward.
    case jsonl

    /// Reads the transcripts in a file's contents; `file` names it in errors and notes.
    public func parse(_ data: Data, file: String) throws(TranscriptParseError) -> [ImportedTranscript] {
        switch self {
        case .claudeCode: [try ClaudeCodeTranscript.parse(data, file: file)]
        case .openAIChat: try OpenAIChatTranscript.parse(data, file: file)
        case .jsonl: [try JSONLTrajectory.parse(data, file: file)]
        }
    }
}
