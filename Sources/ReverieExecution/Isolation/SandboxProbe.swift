import Foundation
import Logging

/// Checks at start-up that this machine can make the sandbox the settings ask for: starts a
/// throwaway one in a temporary folder, runs `true` in its shell, and stops it.
public enum SandboxProbe {
    /// Nil when a sandbox works; else why not.
    public static func check(_ settings: IsolationSettings, logger: Logger) async -> String? {
        guard case .bubblewrap = settings.mode else { return nil }
        guard FileManager.default.isExecutableFile(atPath: settings.bubblewrap) else {
            return "\(settings.bubblewrap) is not installed"
        }
        let folder = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("reverie-probe-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        do {
            let sandbox = try Sandbox(sessionID: "probe", folder: folder)
            let plane = IsolatedExecutionPlane(
                sandbox: sandbox, tools: ["bash": BashTool()], configuration: BuiltinTools.Configuration(), settings: settings, logger: logger)
            let output = await plane.execute(ToolCall(sessionID: "probe", toolUseID: "probe", name: "bash", input: ["command": "true"]))
            await sandbox.close()
            return output.isError ? output.text : nil
        } catch {
            return "the probe's folder could not be made: \(error.localizedDescription)"
        }
    }
}
