/// Polls `condition` every 10 ms until it holds and returns true, or returns false once
/// `timeout` has passed. Tests wait on the state they need instead of sleeping a guess.
func eventually(within timeout: Duration = .seconds(60), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while true {
        if try await condition() { return true }
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
}
