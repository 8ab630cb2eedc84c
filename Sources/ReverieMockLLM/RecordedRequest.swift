import Foundation
import ReverieCore

/// A request the mock server received.
public struct RecordedRequest: Sendable, Equatable {
    public var method: String
    public var path: String
    /// Header names lower-cased; repeated headers joined with `, `.
    public var headers: [String: String]
    /// The parsed JSON body (`null` when the body was empty or not JSON).
    public var body: JSONValue
    public var receivedAt: Date
    /// The name (or `rules[i]`) of the rule that answered, `fallback`, or `nil` for rejected requests.
    public var rule: String?

    public init(method: String, path: String, headers: [String: String], body: JSONValue, receivedAt: Date, rule: String? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
        self.body = body
        self.receivedAt = receivedAt
        self.rule = rule
    }

    /// As served by `GET /_mock/requests`.
    public var json: JSONValue {
        [
            "method": .string(method), "path": .string(path), "headers": .object(headers.mapValues { .string($0) }), "body": body,
            "received_at": .string(Timestamp.format(receivedAt)), "rule": rule.map(JSONValue.string) ?? .null,
        ]
    }
}
