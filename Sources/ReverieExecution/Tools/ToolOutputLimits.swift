import ReverieCore

/// Keeps tool results a size the model can take in. Text over `maxCharacters` is saved in
/// full to `/workspace/.reverie/tool-outputs/<id>.txt` (through the sandbox), and the result
/// keeps its head (and optionally its tail) plus a line saying where the full output is and
/// how long it was.
public struct ToolOutputLimits: Sendable, Equatable {
    /// Where full outputs are saved, as the agent sees it.
    public static let folder = Sandbox.workspaceMount + "/.reverie/tool-outputs"

    /// Any tool: up to 100,000 characters inline; beyond that the first 30,000 are kept.
    public static let standard = ToolOutputLimits(maxCharacters: 100_000, headCharacters: 30_000, tailCharacters: 0)

    /// The most characters a result keeps inline.
    public var maxCharacters: Int
    /// How many leading characters an oversized result keeps.
    public var headCharacters: Int
    /// How many trailing characters an oversized result keeps (0 for none).
    public var tailCharacters: Int

    public init(maxCharacters: Int, headCharacters: Int, tailCharacters: Int) {
        self.maxCharacters = max(1, maxCharacters)
        self.headCharacters = max(0, min(headCharacters, self.maxCharacters))
        self.tailCharacters = max(0, min(tailCharacters, self.maxCharacters - self.headCharacters))
    }

    /// The output with its text limited (media blocks are kept as they are).
    public func apply(_ output: ToolOutput, in sandbox: Sandbox) async -> ToolOutput {
        let texts = output.content.compactMap { if case .text(let text) = $0 { text } else { nil } }
        guard texts.reduce(0, { $0 + $1.count }) > maxCharacters else { return output }
        let limited = await limit(texts.joined(separator: "\n"), in: sandbox)
        let media = output.content.filter { if case .media = $0 { true } else { false } }
        return ToolOutput(content: [.text(limited)] + media, isError: output.isError)
    }

    /// `text` unchanged when it fits; otherwise saved in full, and its head (and tail) with a
    /// note naming the file.
    public func limit(_ text: String, in sandbox: Sandbox) async -> String {
        let length = text.count
        guard length > maxCharacters else { return text }
        let lines = TextLines.split(text).count
        let head = Self.head(of: text, characters: headCharacters)
        let tail = tailCharacters > 0 ? Self.tail(of: text, characters: tailCharacters) : ""
        let omitted = length - head.count - tail.count
        let saved = await save(text, in: sandbox)
        var note = "[Output truncated: it was \(length) characters (\(lines) lines); only the first \(head.count)"
        note += tail.isEmpty ? " are shown" : " and last \(tail.count) are shown, \(omitted) omitted in between"
        note += " (inline output is capped at \(maxCharacters) characters). "
        switch saved {
        case .success(let path):
            note += "The full output is saved in \(path); read it in parts with the read tool (view_range) or search it with grep.]"
        case .failure(let error):
            note += "The full output could not be saved: \(error.message).]"
        }
        var result = head
        if !result.isEmpty && !result.hasSuffix("\n") { result += "\n" }
        if !tail.isEmpty {
            result += "[… \(omitted) characters omitted …]\n" + tail
            if !result.hasSuffix("\n") { result += "\n" }
        }
        return result + note
    }

    private func save(_ text: String, in sandbox: Sandbox) async -> Result<String, SandboxError> {
        do throws(SandboxError) {
            let location = try sandbox.resolve(Self.folder + "/" + ResourceID.make("out") + ".txt")
            try await location.volume.write(location.relativePath, content: text)
            return .success(location.path)
        } catch {
            return .failure(error)
        }
    }

    /// The first `characters` characters, cut back to a line end when one is near.
    static func head(of text: String, characters: Int) -> String {
        guard characters > 0 else { return "" }
        let prefix = text.prefix(characters)
        if prefix.count < characters { return String(prefix) }
        if let newline = prefix.lastIndex(of: "\n"), prefix.distance(from: prefix.startIndex, to: newline) >= characters * 4 / 5 {
            return String(prefix[...newline])
        }
        return String(prefix)
    }

    /// The last `characters` characters, starting at a line start when one is near.
    static func tail(of text: String, characters: Int) -> String {
        guard characters > 0 else { return "" }
        let suffix = text.suffix(characters)
        if let newline = suffix.firstIndex(of: "\n"), suffix.distance(from: suffix.startIndex, to: newline) < characters / 5 {
            return String(suffix[suffix.index(after: newline)...])
        }
        return String(suffix)
    }
}
