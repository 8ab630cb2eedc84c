/// Line handling shared by the file tools. Lines end at "\n"; a "\r" before it stays part of
/// the line, so CRLF files number their lines like LF files.
enum TextLines {
    /// The lines of `text`, without their "\n"; a final "\n" does not start another line.
    static func split(_ text: String) -> [Substring] {
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { Substring($0) }
        if text.unicodeScalars.last == "\n" { lines.removeLast() }
        return lines
    }

    /// One line as `cat -n` shows it: the number right-aligned in six columns, a tab, the text.
    static func numbered(_ number: Int, _ line: some StringProtocol) -> String {
        let label = String(number)
        return String(repeating: " ", count: max(0, 6 - label.count)) + label + "\t" + line
    }
}
