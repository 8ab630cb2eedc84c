import Foundation

/// Where a child process's standard output or standard error goes.
public enum ChildOutput: Sendable {
    /// To `/dev/null`.
    case discard
    /// To this process's own stream of the same kind.
    case inherit
    /// Into the termination's `output` / `errors`.
    case collect
    /// Line by line (without the newline) into a stream, finished when the child closes it.
    case lines(AsyncStream<String>.Continuation)
    /// Standard error only: wherever standard output goes, interleaved.
    case intoOutput
}
