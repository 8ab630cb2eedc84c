import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ReverieCore

/// Where a running server is, for commands that talk to it over the API.
struct ServerOptions: ParsableArguments {
    @Option(name: .customLong("url"), help: "The server's base URL (default: $REVERIE_URL or http://127.0.0.1:8080).")
    var url = ProcessInfo.processInfo.environment["REVERIE_URL"] ?? "http://127.0.0.1:8080"

    @Option(name: .customLong("api-key"), help: "API key (default: the first key in $REVERIE_API_KEY).")
    var apiKey = (ProcessInfo.processInfo.environment["REVERIE_API_KEY"] ?? "").split(separator: ",").first.map(String.init) ?? ""
}

/// A minimal JSON client of Reverie's API for the command line.
struct APIClient {
    let options: ServerOptions

    /// Sends a request; an error reply becomes an `APIReplyError` holding the API's message.
    func send(_ method: HTTPMethod, _ path: String, json: JSONValue? = nil) async throws -> JSONValue {
        (try? JSONCoding.decode(JSONValue.self, from: try await exchange(method, path, json: json))) ?? .null
    }

    /// Sends a request and returns the reply's body as text (for documents such as Markdown).
    func text(_ method: HTTPMethod, _ path: String) async throws -> String {
        String(decoding: try await exchange(method, path, json: nil), as: UTF8.self)
    }

    private func exchange(_ method: HTTPMethod, _ path: String, json: JSONValue?) async throws -> Data {
        guard !options.apiKey.isEmpty else { throw ValidationError("no API key: pass --api-key or set REVERIE_API_KEY") }
        var base = options.url
        while base.hasSuffix("/") { base.removeLast() }
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "x-api-key", value: options.apiKey)
        if let json {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: try JSONCoding.data(json)))
        }
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        } catch {
            throw APIReplyError(message: "cannot reach \(base): \(error)")
        }
        let body = Data(buffer: try await response.body.collect(upTo: 64 << 20))
        guard (200..<300).contains(Int(response.status.code)) else {
            let value = (try? JSONCoding.decode(JSONValue.self, from: body)) ?? .null
            let message = value["error"]?["message"]?.stringValue ?? String(decoding: body, as: UTF8.self)
            let type = value["error"]?["type"]?.stringValue ?? "error"
            throw APIReplyError(message: "\(response.status.code) \(type): \(message)")
        }
        return body
    }
}

/// The server refused a request (or could not be reached); printed as `Error: <message>`.
struct APIReplyError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
