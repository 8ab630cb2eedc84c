extension TurnState.PendingCall {
    /// What a loop does with a pending call.
    enum Disposition: Equatable {
        /// Run the tool.
        case run
        /// Answer with this error without running it (the user denied it).
        case deny(String)
        /// Wait for the user: a custom tool's result, or a confirmation (`always_ask`).
        case wait
        /// Wait for a worker of the session's `self_hosted` environment to post `user.tool_result`.
        case awaitWorker
    }

    func disposition(_ toolbox: Toolbox) -> Disposition {
        if isCustom { return .wait }
        switch confirmation {
        case .deny(let message)?:
            return .deny(message.map { "The user denied this tool call: \($0)" } ?? "The user denied this tool call.")
        case .allow?:
            return toolbox.runsOnWorker(name) ? .awaitWorker : .run
        case nil:
            if toolbox.policy(for: name) == .alwaysAsk { return .wait }
            return toolbox.runsOnWorker(name) ? .awaitWorker : .run
        }
    }

    /// Whether the call was running (or about to) when the process stopped: a restart reports
    /// such calls as interrupted, and leaves the ones waiting for the user as they are.
    func hadStarted(_ toolbox: Toolbox) -> Bool {
        disposition(toolbox) == .run
    }
}
