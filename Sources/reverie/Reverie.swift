import ArgumentParser

/// The `reverie` command line.
@main
struct Reverie: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reverie",
        abstract: "A self-hosted managed-agents server whose agents get better between sessions.",
        discussion: """
            Reverie serves the Managed Agents API (agents, environments, sessions and their event logs) \
            on an embedded SQLite database. Point the official Anthropic SDKs at it by changing the base URL.
            """,
        subcommands: [
            Demo.self, Serve.self, Keys.self, EnvironmentsCommand.self, WorkerCommand.self, Memory.self, DreamCommand.self, EvalCommand.self,
            ImportCommand.self, Bench.self, MockLLM.self, SandboxTools.self, SecretsCommand.self,
        ])
}
