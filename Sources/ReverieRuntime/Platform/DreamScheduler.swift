import Synchronization

/// The seam between the dreams API and whatever runs dreams (`DreamRunner`). Without one
/// attached, dreams stay `pending` until a server with models configured starts.
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

/// Holds the attached scheduler; set once during start-up.
final class DreamSchedulerBox: Sendable {
    private let value = Mutex<any DreamScheduler>(IdleDreamScheduler())
    var scheduler: any DreamScheduler {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
