/// Something a sandbox owns besides its files — a running bash shell — that must stop when
/// the sandbox closes. Tools attach resources with `Sandbox.resource(_:make:)`.
public protocol SandboxResource: AnyObject, Sendable {
    /// Stops the resource and releases what it holds (processes, descriptors).
    func close() async
}
