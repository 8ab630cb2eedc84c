import ReverieCore

/// The tools of `agent_toolset_20260401`, as an agent's toolset enables them.
///
/// Permission policies are not handled here: the session loop consults
/// `AgentToolset.setting(for:)` before running a call.
public enum BuiltinTools {
    /// Deployment settings for the built-in tools.
    public struct Configuration: Sendable {
        public var bash: BashTool.Configuration
        public var glob: GlobTool
        public var grep: GrepTool
        /// `web_fetch` when the deployment has web access; without one the tool reports that
        /// it is not available.
        public var webFetch: (any SandboxTool)?
        /// `web_search` when the deployment has web access; likewise.
        public var webSearch: (any SandboxTool)?

        public init(bash: BashTool.Configuration = BashTool.Configuration(), glob: GlobTool = GlobTool(), grep: GrepTool = GrepTool(),
                    webFetch: (any SandboxTool)? = nil, webSearch: (any SandboxTool)? = nil) {
            self.bash = bash
            self.glob = glob
            self.grep = grep
            self.webFetch = webFetch
            self.webSearch = webSearch
        }
    }

    /// The enabled tools, keyed by their names (`bash`, `read`, …).
    public static func tools(for toolset: AgentToolset, configuration: Configuration = Configuration()) -> [String: any SandboxTool] {
        var tools: [String: any SandboxTool] = [:]
        for name in BuiltinToolName.allCases where toolset.setting(for: name).enabled {
            tools[name.rawValue] = tool(name, configuration: configuration)
        }
        return tools
    }

    /// One built-in tool.
    public static func tool(_ name: BuiltinToolName, configuration: Configuration = Configuration()) -> any SandboxTool {
        switch name {
        case .bash: BashTool(configuration: configuration.bash)
        case .read: ReadTool()
        case .write: WriteTool()
        case .edit: EditTool()
        case .glob: configuration.glob
        case .grep: configuration.grep
        case .webFetch: configuration.webFetch ?? WebUnavailableTool(.webFetch)
        case .webSearch: configuration.webSearch ?? WebUnavailableTool(.webSearch)
        }
    }
}
