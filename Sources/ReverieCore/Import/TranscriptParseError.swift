/// A transcript file that cannot be imported: where (the file, and the line when known) and why.
public struct TranscriptParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file (or `file:line` of a transcript that starts on a line of a file).
    public var origin: String
    public var line: Int?
    public var message: String

    public init(origin: String, line: Int?, message: String) {
        self.origin = origin
        self.line = line
        self.message = message
    }

    public var description: String {
        line.map { "\(origin): line \($0): \(message)" } ?? "\(origin): \(message)"
    }
}
