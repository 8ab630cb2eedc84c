import ArgumentParser
import Foundation
import ReverieExecution

/// `reverie sandbox-tools`: the tool server that runs inside a session's sandbox. The server
/// starts it; it is not for people to run.
struct SandboxTools: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sandbox-tools", abstract: "Serve a session's tools inside its sandbox (started by the server).", shouldDisplay: false)

    @Option(help: "The settings, as JSON.")
    var settings: String

    func run() async throws {
        let decoded: SandboxToolSettings
        do {
            decoded = try JSONDecoder().decode(SandboxToolSettings.self, from: Data(settings.utf8))
        } catch {
            throw ValidationError("--settings is not valid sandbox settings JSON")
        }
        try await SandboxToolServer.run(settings: decoded)
    }
}
