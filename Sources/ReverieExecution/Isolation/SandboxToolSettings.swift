import Foundation

/// What the tool server inside a sandbox is started with (passed as JSON on its command
/// line): how the tools behave, the memory mounts it serves, and the limits to apply.
public struct SandboxToolSettings: Sendable, Equatable, Codable {
    public struct Mount: Sendable, Equatable, Codable {
        /// Where the memory store appears (`/mnt/memory/notes`).
        public var mountPoint: String
        public var readOnly: Bool

        public init(mountPoint: String, readOnly: Bool) {
            self.mountPoint = mountPoint
            self.readOnly = readOnly
        }
    }

    public var bashDefaultTimeoutMilliseconds: Int64
    public var bashMaxTimeoutMilliseconds: Int64
    public var bashOutputMaxCharacters: Int
    public var bashOutputHeadCharacters: Int
    public var bashOutputTailCharacters: Int
    public var bashRetainedBytes: Int
    public var bashEnvironment: [String: String]
    public var mounts: [Mount]
    public var limits: SandboxLimits
    /// The loopback port the egress proxy is reachable on inside the sandbox (nil: no network).
    public var proxyPort: Int?

    public init(tools: BuiltinTools.Configuration, mounts: [Mount], limits: SandboxLimits, proxyPort: Int? = nil) {
        bashDefaultTimeoutMilliseconds = BashTool.milliseconds(tools.bash.defaultTimeout)
        bashMaxTimeoutMilliseconds = BashTool.milliseconds(tools.bash.maxTimeout)
        bashOutputMaxCharacters = tools.bash.outputLimits.maxCharacters
        bashOutputHeadCharacters = tools.bash.outputLimits.headCharacters
        bashOutputTailCharacters = tools.bash.outputLimits.tailCharacters
        bashRetainedBytes = tools.bash.retainedBytes
        bashEnvironment = tools.bash.environment
        self.mounts = mounts
        self.limits = limits
        self.proxyPort = proxyPort
    }

    /// The bash settings as the tool takes them.
    var bash: BashTool.Configuration {
        BashTool.Configuration(
            defaultTimeout: .milliseconds(bashDefaultTimeoutMilliseconds), maxTimeout: .milliseconds(bashMaxTimeoutMilliseconds),
            outputLimits: ToolOutputLimits(
                maxCharacters: bashOutputMaxCharacters, headCharacters: bashOutputHeadCharacters, tailCharacters: bashOutputTailCharacters),
            environment: bashEnvironment, retainedBytes: bashRetainedBytes)
    }
}
