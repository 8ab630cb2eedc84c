import ReverieCore
import ReverieExecution
import ReverieModels

/// Picks the model provider serving an agent's `model.id`.
public protocol ModelRouting: Sendable {
    func provider(for model: String) throws -> any ModelProvider
    /// The model's context window (compaction keeps each thread's conversation under it).
    func contextWindow(for model: String) -> ContextWindow
    /// The model's list price (budgets count with it); nil when it has none.
    func price(for model: String) -> ModelPrice?
}

extension ModelRouting {
    public func contextWindow(for model: String) -> ContextWindow { ContextWindow.known(for: model) }
    public func price(for model: String) -> ModelPrice? { ModelPrice.known(for: model) }
}

/// Settings of the agent runtime.
public struct RuntimeConfiguration: Sendable {
    /// Where session sandboxes live (`<dataDirectory>/sessions/<id>/`).
    public var dataDirectory: String
    /// `max_tokens` of each model call.
    public var maxTokens: Int
    /// Model calls allowed in one turn before the session stops with an error (a runaway guard).
    public var maxModelCallsPerTurn: Int
    /// Child threads of one session that run at once; more wait in a queue.
    public var maxConcurrentThreads: Int
    /// How long a session's sandbox (its bash shell and the processes it started) stays open
    /// after the session stops working; nil keeps it while the server runs. Files stay either
    /// way: the next turn opens a fresh sandbox on the same folder, with a new shell.
    public var sandboxIdleTimeout: Duration?
    /// A session whose resumption at start-up failed or whose process died this many times in a
    /// row is not resumed again: it is stopped with a `session.error` and goes idle.
    public var maxFailedResumptions: Int = 3
    /// On a database several processes share: how often this process looks for running
    /// sessions, dreams and evaluations whose owner stopped heartbeating, to take them over.
    public var takeoverInterval: Duration = .seconds(1)
    /// Compactions of a thread's context allowed in a row without a model reply in between;
    /// past it the thread stops with `compaction_limit_reached_error`.
    public var maxConsecutiveCompactions: Int = 3

    public init(
        dataDirectory: String, maxTokens: Int = 8192, maxModelCallsPerTurn: Int = 100, maxConcurrentThreads: Int = 25,
        sandboxIdleTimeout: Duration? = .seconds(600)
    ) {
        self.dataDirectory = dataDirectory
        self.maxTokens = maxTokens
        self.maxModelCallsPerTurn = maxModelCallsPerTurn
        self.maxConcurrentThreads = max(1, maxConcurrentThreads)
        self.sandboxIdleTimeout = sandboxIdleTimeout
    }
}

/// What happens when an agent ends its turn: an outcome grader may send it back to work.
public protocol TurnEndHandler: Sendable {
    /// Called when the agent (primary thread) ends a turn. Return `.continueWorking` after
    /// appending the events that give the agent something to do (e.g. grader feedback).
    func agentEndedTurn(_ turn: EndedTurn) async throws -> TurnEndDecision

    /// Called when a `user.interrupt` stops the primary thread, with its log: returns events
    /// to record before the session goes idle (e.g. ending an active outcome).
    func turnInterrupted(events: [SessionEvent]) -> [SessionEvent]
}

extension TurnEndHandler {
    public func turnInterrupted(events: [SessionEvent]) -> [SessionEvent] { [] }
}

/// The turn that just ended.
public struct EndedTurn: Sendable {
    /// The session as its loop started (the agent snapshot is current; usage and outcome
    /// state may be older than the log).
    public var session: Session
    public var events: [SessionEvent]
    public var sandbox: Sandbox
    /// Where the session's tools run; rubric checks run there too.
    public var plane: any ExecutionPlane
    /// Runs an operation the user's `user.interrupt` can cancel.
    public var control: LoopControl
}

public enum TurnEndDecision: Sendable, Equatable {
    /// Go idle with `end_turn`.
    case finish
    /// The loop continues: new events wait for the model.
    case continueWorking
}
