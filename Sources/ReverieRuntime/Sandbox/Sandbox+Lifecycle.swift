extension Sandbox {
    /// Releases what the sandbox holds (processes started for the session).
    public func close() async {}
}
