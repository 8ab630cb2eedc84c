import ArgumentParser
import Foundation
import ReverieCore

extension TranscriptFormat: ExpressibleByArgument {}

/// `reverie import`: turns transcripts of work done elsewhere into read-only sessions on a
/// running server, so dreams can learn from them.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import Claude Code, OpenAI chat or JSONL transcripts as read-only sessions.",
        discussion: """
            Reads every file first and imports nothing if one cannot be read; then sends each \
            transcript to a running server (--url, --api-key or $REVERIE_URL, $REVERIE_API_KEY) \
            and prints each new session's id, one per line. Without --agent and --environment, \
            the sessions belong to an agent and an environment named "\(ImportCommand.defaultName)", \
            created on first use. See docs/importing.md.
            """)

    static let defaultName = "Imported transcripts"
    /// Marks the default agent and environment (metadata `reverie` = `import`).
    static let marker = ("reverie", "import")

    @OptionGroup var server: ServerOptions
    @Argument(help: "The format: claude-code, openai-chat or jsonl.") var format: TranscriptFormat
    @Argument(help: "Transcript files.") var files: [String] = []
    @Option(name: .customLong("agent"), help: "The agent the sessions belong to (agent_…; default: \"\(ImportCommand.defaultName)\").")
    var agent: String?
    @Option(name: .customLong("environment"), help: "Their environment (env_…; default: \"\(ImportCommand.defaultName)\").")
    var environment: String?
    @Option(name: .customLong("title"), help: "The session's title (one transcript only; default: from the transcript).")
    var title: String?
    @Option(name: .customLong("metadata"), help: "KEY=VALUE added to each session's metadata (repeatable).")
    var metadata: [String] = []
    @Option(name: .customLong("success"), help: "Record that the work succeeded (true) or failed (false), overriding the transcript.")
    var success: Bool?
    @Option(name: .customLong("reward"), help: "Record this reward, overriding the transcript.")
    var reward: Double?
    @Flag(name: .customLong("dry-run"), help: "Read the files and print what would be imported; send nothing.")
    var dryRun = false

    func run() async throws {
        guard !files.isEmpty else { throw ValidationError("name at least one transcript file") }
        if let reward, !reward.isFinite { throw ValidationError("--reward must be a finite number") }
        var extra: [String: String] = [:]
        for pair in metadata {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else { throw ValidationError("--metadata takes KEY=VALUE, got '\(pair)'") }
            extra[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }

        var transcripts: [ImportedTranscript] = []
        for file in files {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: file))
            } catch {
                throw CommandFailure("cannot read \(file): \((error as NSError).localizedDescription)")
            }
            do {
                transcripts += try format.parse(data, file: file)
            } catch {
                throw CommandFailure(error.description)
            }
        }
        if title != nil, transcripts.count != 1 {
            throw ValidationError("--title names one session, but the files hold \(transcripts.count) transcripts")
        }
        for index in transcripts.indices {
            if let title { transcripts[index].title = title }
            if let success { transcripts[index].success = success }
            if let reward { transcripts[index].reward = reward }
            transcripts[index].metadata.merge(extra) { _, new in new }
            for note in transcripts[index].skipped { FileHandle.standardError.write(Data("note: \(transcripts[index].origin): \(note)\n".utf8)) }
        }

        if dryRun {
            for transcript in transcripts {
                let counts = Dictionary(grouping: transcript.events, by: { $0["type"]?.stringValue ?? "" }).mapValues(\.count)
                let summary = counts.keys.sorted().map { "\(counts[$0] ?? 0) \($0)" }.joined(separator: ", ")
                print("\(transcript.origin)\t\(transcript.title ?? "")\t\(summary)")
            }
            return
        }

        let client = APIClient(options: server)
        var agentID = agent ?? ""
        if agentID.isEmpty {
            agentID = try await Self.defaultResource(kind: "agents", client: client, create: [
                "name": .string(Self.defaultName), "model": "imported",
                "description": "Owns sessions imported from transcripts by `reverie import`; it does not run.",
                "metadata": [Self.marker.0: .string(Self.marker.1)],
            ])
        }
        var environmentID = environment ?? ""
        if environmentID.isEmpty {
            environmentID = try await Self.defaultResource(kind: "environments", client: client, create: [
                "name": .string(Self.defaultName), "metadata": [Self.marker.0: .string(Self.marker.1)],
            ])
        }
        var failures = 0
        for transcript in transcripts {
            do {
                let session = try await client.send(
                    .POST, "/v1/sessions/import", json: transcript.requestBody(agentID: agentID, environmentID: environmentID))
                print(session["id"]?.stringValue ?? "")
            } catch {
                failures += 1
                var message = "\(error)"
                if message.hasPrefix("413") {
                    message += " (the server's --max-body-bytes bounds one transcript; split the file or raise the limit)"
                }
                FileHandle.standardError.write(Data("Error: \(transcript.origin): \(message)\n".utf8))
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }

    /// The id of the default agent or environment (the live one named `defaultName` and
    /// carrying the marker), created when there is none.
    static func defaultResource(kind: String, client: APIClient, create: [String: JSONValue]) async throws -> String {
        var page: String?
        repeat {
            var path = "/v1/\(kind)?limit=100"
            if let page { path += "&page=" + (page.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? page) }
            let reply = try await client.send(.GET, path)
            for item in reply["data"]?.arrayValue ?? []
            where item["name"]?.stringValue == defaultName && item["metadata"]?[marker.0]?.stringValue == marker.1 {
                if let id = item["id"]?.stringValue { return id }
            }
            page = reply["next_page"]?.stringValue
        } while page != nil
        let created = try await client.send(.POST, "/v1/\(kind)", json: .object(create))
        guard let id = created["id"]?.stringValue else { throw CommandFailure("the server did not return the new \(kind.dropLast())'s id") }
        return id
    }
}
