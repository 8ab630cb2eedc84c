extension Task where Failure == any Error {
    /// Waits for the task to end by itself for at most `timeout`, then cancels it and waits
    /// for it. For stopping servers gracefully first (cancelling a NIO server outright can
    /// trap when a connection was accepted but not yet served, swift-nio#2813).
    public func finish(within timeout: Duration) async {
        let ended = await withTaskGroup(of: Bool.self) { race in
            race.addTask {
                _ = try? await self.value
                return true
            }
            race.addTask {
                try? await Task<Never, Never>.sleep(for: timeout)
                return false
            }
            let first = await race.next() ?? false
            race.cancelAll()
            return first
        }
        if !ended {
            cancel()
            _ = try? await value
        }
    }
}
