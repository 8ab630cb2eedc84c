/// When an acknowledged write is safe.
public enum Durability: String, Sendable, Equatable, CaseIterable {
    /// Fsynced before it is acknowledged (`synchronous=FULL`): it survives a power cut or a
    /// kernel crash. Appends are group-committed, so one fsync covers a whole batch.
    case fsync
    /// Written to the operating system before it is acknowledged (`synchronous=NORMAL` in WAL
    /// mode): it survives the process being killed (`kill -9`), but the last moments before a
    /// power cut or kernel crash may be lost.
    case process

    /// The SQLite `synchronous` setting that gives it.
    var synchronousPragma: String {
        switch self {
        case .fsync: "FULL"
        case .process: "NORMAL"
        }
    }
}
