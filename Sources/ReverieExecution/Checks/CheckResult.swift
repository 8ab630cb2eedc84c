/// What a rubric's check command did: its exit status and the end of its output.
public struct CheckResult: Codable, Sendable, Equatable {
    /// 0 passes; 128 + n when signal n ended it; 127 when it could not run at all.
    public var exitCode: Int32
    /// Standard output and standard error, interleaved; at most `CheckCommand.outputLimit`
    /// characters (the end is kept).
    public var output: String
    public var timedOut: Bool

    public init(exitCode: Int32, output: String, timedOut: Bool = false) {
        self.exitCode = exitCode
        self.output = output
        self.timedOut = timedOut
    }

    /// A check that was not run, with the reason as its output.
    public static func notRun(_ reason: String) -> CheckResult { CheckResult(exitCode: 127, output: reason) }

    public var passed: Bool { exitCode == 0 && !timedOut }

    enum CodingKeys: String, CodingKey {
        case output
        case exitCode = "exit_code"
        case timedOut = "timed_out"
    }
}
