import Foundation
import ReverieCore
import ReverieExecution

/// What the grader judges: the agent's final message and the files under `/mnt/session/outputs/`.
struct Deliverable: Sendable, Equatable {
    var finalMessage: String
    var files: [(path: String, content: String)]

    static func == (lhs: Deliverable, rhs: Deliverable) -> Bool {
        lhs.finalMessage == rhs.finalMessage && lhs.files.map(\.path) == rhs.files.map(\.path) && lhs.files.map(\.content) == rhs.files.map(\.content)
    }

    static func collect(events: [SessionEvent], sandbox: Sandbox, limit: Int) async throws -> Deliverable {
        let finalMessage = events.last { $0.type == .agentMessage }?.text ?? ""
        var files: [(String, String)] = []
        var budget = limit - finalMessage.count
        for file in try await sandbox.outputs.files(under: "").sorted(by: { $0.path < $1.path }) {
            let relative = String(file.path.dropFirst(Sandbox.outputsMount.count + 1))
            var content = (try? await sandbox.outputs.read(relative)) ?? "(unreadable)"
            if budget <= 0 {
                content = "(omitted: the deliverable exceeds the grader's size limit)"
            } else if content.count > budget {
                content = String(content.prefix(budget)) + "\n[… truncated]"
            }
            budget -= content.count
            files.append((file.path, content))
        }
        return Deliverable(finalMessage: finalMessage, files: files)
    }
}
