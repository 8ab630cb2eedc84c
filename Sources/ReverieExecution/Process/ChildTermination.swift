import Foundation

/// How a child process ended, with what it was asked to collect.
public struct ChildTermination: Sendable {
    /// The exit status, or 128 + the signal's number when a signal ended it (as shells report).
    public var status: Int32
    /// The signal that ended it, if one did.
    public var signal: Int32?
    /// Standard output, when it was `.collect`ed (standard error too, with `.intoOutput`).
    public var output: Data
    /// Standard error, when it was `.collect`ed.
    public var errors: Data

    /// Exited by itself with status 0.
    public var succeeded: Bool { signal == nil && status == 0 }
}
