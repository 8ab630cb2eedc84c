
/// The seam between the dreams API and whatever runs dreams (`DreamRunner`). With
/// `IdleDreamScheduler`, dreams stay `pending` until a server with models configured starts.
public protocol DreamScheduler: Sendable {
    /// A dream was created (or must be resumed): start it.
    func dreamCreated(id: String) async
    /// A dream was canceled: stop its work.
    func dreamCanceled(id: String) async
}

/// Runs nothing.
public struct IdleDreamScheduler: DreamScheduler {
    public init() {}
    public func dreamCreated(id: String) async {}
    public func dreamCanceled(id: String) async {}
}
