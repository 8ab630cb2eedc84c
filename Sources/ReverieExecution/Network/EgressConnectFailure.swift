/// Why the egress proxy could not reach an allowed destination (answered with 502, or 504 on a timeout).
struct EgressConnectFailure: Error, Sendable, CustomStringConvertible {
    let description: String
    /// Whether the connect timeout ran out (rather than the connection being refused or failing).
    let timedOut: Bool
}
