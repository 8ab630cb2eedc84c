import ReverieCore
import ReverieExecution
import ReverieModels

/// The tools a coordinator agent gets to delegate to its roster: start a specialist thread
/// with a task, send a thread a message, and wait for threads to finish and collect their replies.
enum CoordinatorTools {
    static let startThread = "start_thread"
    static let sendToThread = "send_to_thread"
    static let waitForThreads = "wait_for_threads"

    /// The tools, keyed by name, bound to one session's threads.
    static func tools(_ scheduler: ThreadScheduler) -> [String: any SandboxTool] {
        [
            startThread: StartThreadTool(scheduler: scheduler),
            sendToThread: SendToThreadTool(scheduler: scheduler),
            waitForThreads: WaitForThreadsTool(scheduler: scheduler),
        ]
    }

    /// The text a coordinator reads about finished threads.
    static func describe(_ reports: [ThreadScheduler.Report]) -> ToolOutput {
        var lines: [String] = []
        var failed = 0
        for report in reports {
            let head = "Thread \(report.threadID) (\(report.agentName))"
            switch report.ending {
            case .finished(let reply)?: lines.append("\(head) finished:\n\(reply)")
            case .failed(let message)?:
                failed += 1
                lines.append("\(head) FAILED: \(message)")
            case .interrupted?: lines.append("\(head) was interrupted before it finished.")
            case .requiresAction?: lines.append("\(head) is waiting for the user to answer its tool calls.")
            case .shutdown?, nil: lines.append("\(head) has not finished.")
            }
        }
        if reports.isEmpty { lines.append("No threads have been started.") }
        let text = lines.joined(separator: "\n\n")
        // The call itself worked; failures are reported in the text, and mark the result
        // only when every thread failed.
        return ToolOutput(content: [.text(text)], isError: !reports.isEmpty && failed == reports.count)
    }
}

struct StartThreadTool: SandboxTool {
    let scheduler: ThreadScheduler

    var definition: ToolDefinition {
        ToolDefinition(
            name: CoordinatorTools.startThread,
            description: """
                Start a specialist agent on a task in its own thread. It works in the same files as you but sees only the task \
                you give it, so make the task self-contained. Returns the thread id at once; the thread runs in parallel. \
                Call wait_for_threads to collect results. Available agents: \(scheduler.rosterNames.joined(separator: ", ")).
                """,
            inputSchema: [
                "type": "object",
                "properties": [
                    "agent": ["type": "string", "description": "The name of the agent to start."],
                    "task": ["type": "string", "description": "The complete task for the agent."],
                ],
                "required": ["agent", "task"],
            ])
    }

    func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        guard let agent = input["agent"]?.stringValue, !agent.isEmpty else { return .error("agent: required (a string)") }
        guard let task = input["task"]?.stringValue, !task.isEmpty else { return .error("task: required (a string)") }
        do {
            let id = try await scheduler.start(agent: agent, task: task)
            return .text("Started thread \(id) running \(agent).")
        } catch {
            return .error("The thread could not start: \(ClientMessage.describe(error))")
        }
    }
}

struct SendToThreadTool: SandboxTool {
    let scheduler: ThreadScheduler

    var definition: ToolDefinition {
        ToolDefinition(
            name: CoordinatorTools.sendToThread,
            description: "Send a message to a thread you started (for example, a follow-up or a correction). An idle thread resumes work.",
            inputSchema: [
                "type": "object",
                "properties": [
                    "thread_id": ["type": "string", "description": "The thread's id (sthr_…)."],
                    "message": ["type": "string", "description": "The message."],
                ],
                "required": ["thread_id", "message"],
            ])
    }

    func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        guard let id = input["thread_id"]?.stringValue, !id.isEmpty else { return .error("thread_id: required (a string)") }
        guard let message = input["message"]?.stringValue, !message.isEmpty else { return .error("message: required (a string)") }
        do {
            try await scheduler.send(to: id, message: message)
            return .text("Sent to thread \(id).")
        } catch {
            return .error("The message could not be sent: \(ClientMessage.describe(error))")
        }
    }
}

struct WaitForThreadsTool: SandboxTool {
    let scheduler: ThreadScheduler

    var definition: ToolDefinition {
        ToolDefinition(
            name: CoordinatorTools.waitForThreads,
            description: "Wait until the given threads (default: every thread you started) finish, and get each one's final reply or failure.",
            inputSchema: [
                "type": "object",
                "properties": [
                    "thread_ids": ["type": "array", "items": ["type": "string"], "description": "Threads to wait for; omit for all."],
                ],
            ])
    }

    func run(_ input: JSONValue, in sandbox: Sandbox) async -> ToolOutput {
        var ids: [String]?
        if let values = input["thread_ids"]?.arrayValue {
            ids = values.compactMap(\.stringValue)
            if ids?.count != values.count { return .error("thread_ids: must be an array of strings") }
        }
        do {
            return CoordinatorTools.describe(try await scheduler.wait(for: ids))
        } catch is CancellationError {
            return .error("Stopped waiting: the coordinator was interrupted.")
        } catch {
            return .error(ClientMessage.describe(error))
        }
    }
}
