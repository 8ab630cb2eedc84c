/// Why a request head is not a proxy request the proxy can serve (answered with 400).
struct ProxyRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
