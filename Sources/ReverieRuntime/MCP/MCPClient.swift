import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ReverieCore
import ReverieExecution
import ReverieModels

/// A tool an MCP server lists (`tools/list`).
public struct MCPRemoteTool: Sendable, Equatable {
    public var name: String
    public var description: String
    public var inputSchema: JSONValue
}

/// A minimal MCP client over the streamable HTTP transport (protocol 2025-06-18): JSON-RPC
/// requests POSTed to the server's URL, answered with `application/json` or a
/// `text/event-stream` carrying the response; the `Mcp-Session-Id` the server assigns at
/// `initialize` is sent back on every later request. Covers `initialize`,
/// `notifications/initialized`, `tools/list` and `tools/call`.
///
/// Authenticates with `Authorization: Bearer <token>`. When the server answers 401 or 403 and
/// `refresh` is given, it is asked once for a new token and the request is sent again.
public actor MCPClient {
    public static let protocolVersion = "2025-06-18"
    static let maxResponseBytes = 8 * 1024 * 1024

    let serverName: String
    /// Where requests go: for plain http, the address the outbound policy checked.
    let url: String
    /// The `Host` header when `url` names an address in place of the server's host.
    let hostHeader: String?
    let http: HTTPClient
    let timeout: TimeAmount
    private var token: String?
    private let refresh: (@Sendable () async -> String?)?
    private var sessionID: String?
    private var nextID = 1

    public init(
        serverName: String, url: String, hostHeader: String? = nil, http: HTTPClient, token: String?, timeout: Duration = .seconds(60),
        refresh: (@Sendable () async -> String?)? = nil
    ) {
        self.serverName = serverName
        self.url = url
        self.hostHeader = hostHeader
        self.http = http
        self.token = token
        self.refresh = refresh
        self.timeout = .milliseconds(Int64(timeout.components.seconds * 1000))
    }

    /// `initialize`, then `notifications/initialized`.
    public func connect() async throws(MCPFailure) {
        let result = try await request("initialize", params: [
            "protocolVersion": .string(Self.protocolVersion), "capabilities": [:],
            "clientInfo": ["name": "reverie", "version": "1.0"],
        ])
        guard case .object = result else { throw .connection("MCP server '\(serverName)' answered initialize without a result") }
        try await notify("notifications/initialized")
    }

    /// Every tool the server lists (following `nextCursor`, at most 20 pages).
    public func listTools() async throws(MCPFailure) -> [MCPRemoteTool] {
        var tools: [MCPRemoteTool] = []
        var cursor: String?
        for _ in 0..<20 {
            var params: [String: JSONValue] = [:]
            if let cursor { params["cursor"] = .string(cursor) }
            let result = try await request("tools/list", params: .object(params))
            for entry in result["tools"]?.arrayValue ?? [] {
                guard let name = entry["name"]?.stringValue, !name.isEmpty else { continue }
                tools.append(MCPRemoteTool(
                    name: name, description: entry["description"]?.stringValue ?? "",
                    inputSchema: entry["inputSchema"] ?? ["type": "object"]))
            }
            cursor = result["nextCursor"]?.stringValue
            if cursor == nil || cursor?.isEmpty == true { break }
        }
        return tools
    }

    /// `tools/call`: the tool's content as a tool result (a JSON-RPC error or `isError` is an error result).
    public func callTool(_ name: String, arguments: JSONValue) async throws(MCPFailure) -> ToolOutput {
        let result: JSONValue
        do {
            result = try await request("tools/call", params: ["name": .string(name), "arguments": arguments])
        } catch MCPFailure.connection(let message) where message.hasPrefix(Self.rpcErrorPrefix) {
            return .error(String(message.dropFirst(Self.rpcErrorPrefix.count)))
        }
        var content: [ToolResultContent] = []
        for block in result["content"]?.arrayValue ?? [] {
            switch block["type"]?.stringValue {
            case "text":
                content.append(.text(block["text"]?.stringValue ?? ""))
            case "image":
                if let data = block["data"]?.stringValue, let mediaType = block["mimeType"]?.stringValue {
                    content.append(.media(["type": "image", "source": ["type": "base64", "media_type": .string(mediaType), "data": .string(data)]]))
                }
            default:
                content.append(.text((try? JSONCoding.string(block)) ?? ""))
            }
        }
        if content.isEmpty, let structured = result["structuredContent"] { content.append(.text((try? JSONCoding.string(structured)) ?? "")) }
        return ToolOutput(content: content, isError: result["isError"]?.boolValue ?? false)
    }

    // MARK: JSON-RPC over HTTP

    static let rpcErrorPrefix = "JSON-RPC error: "

    private func request(_ method: String, params: JSONValue) async throws(MCPFailure) -> JSONValue {
        let id = nextID
        nextID += 1
        let message: JSONValue = ["jsonrpc": "2.0", "id": .int(Int64(id)), "method": .string(method), "params": params]
        guard let reply = try await send(message, method: method, expecting: id) else {
            throw .connection("MCP server '\(serverName)' sent no response to \(method)")
        }
        if let error = reply["error"] {
            throw .connection(Self.rpcErrorPrefix + (error["message"]?.stringValue ?? "the server reported an error"))
        }
        return reply["result"] ?? .null
    }

    private func notify(_ method: String) async throws(MCPFailure) {
        _ = try await send(["jsonrpc": "2.0", "method": .string(method)], method: method, expecting: nil)
    }

    /// POSTs one message; returns the JSON-RPC response with id `expecting` (nil for notifications).
    private func send(_ message: JSONValue, method: String, expecting id: Int?) async throws(MCPFailure) -> JSONValue? {
        var (status, headers, body) = try await post(message, method: method)
        if status == 401 || status == 403, let refresh, let fresh = await refresh() {
            token = fresh
            (status, headers, body) = try await post(message, method: method)
        }
        if status == 401 || status == 403 {
            throw .authentication("MCP server '\(serverName)' refused the credential (HTTP \(status) to \(method))")
        }
        guard (200..<300).contains(status) else { throw .connection("MCP server '\(serverName)' answered HTTP \(status) to \(method)") }
        if let assigned = headers.first(name: "mcp-session-id"), !assigned.isEmpty { sessionID = assigned }
        guard let id else { return nil }
        let type = headers.first(name: "content-type")?.lowercased() ?? ""
        let messages: [JSONValue]
        if type.hasPrefix("text/event-stream") {
            messages = Self.eventStreamMessages(body)
        } else {
            guard let value = try? JSONCoding.decode(JSONValue.self, from: body) else {
                throw .connection("MCP server '\(serverName)' answered \(method) with a body that is not JSON")
            }
            messages = value.arrayValue ?? [value]
        }
        guard let reply = messages.first(where: { $0["id"] == .int(Int64(id)) || $0["id"] == .double(Double(id)) }) else {
            throw .connection("MCP server '\(serverName)' did not answer \(method)")
        }
        return reply
    }

    private func post(_ message: JSONValue, method: String) async throws(MCPFailure) -> (Int, HTTPHeaders, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        if let hostHeader { request.headers.add(name: "host", value: hostHeader) }
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: "application/json, text/event-stream")
        request.headers.add(name: "mcp-protocol-version", value: Self.protocolVersion)
        if let token { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        if let sessionID { request.headers.add(name: "mcp-session-id", value: sessionID) }
        guard let data = try? JSONCoding.data(message) else { throw .connection("could not encode \(method)") }
        request.body = .bytes(ByteBuffer(bytes: data))
        do {
            let response = try await http.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: Self.maxResponseBytes)
            return (Int(response.status.code), response.headers, Data(body.readableBytesView))
        } catch {
            throw .connection("could not reach MCP server '\(serverName)' for \(method): \(Self.describe(error))")
        }
    }

    /// The JSON messages in the `data:` fields of a server-sent event stream.
    static func eventStreamMessages(_ body: Data) -> [JSONValue] {
        let text = String(decoding: body, as: UTF8.self).replacingOccurrences(of: "\r\n", with: "\n")
        var messages: [JSONValue] = []
        for block in text.components(separatedBy: "\n\n") {
            let data = block.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { $0.hasPrefix("data:") }
                .map { line in line.dropFirst(5).drop { $0 == " " } }
                .joined(separator: "\n")
            guard !data.isEmpty, let value = try? JSONCoding.decode(JSONValue.self, from: Data(data.utf8)) else { continue }
            messages.append(contentsOf: value.arrayValue ?? [value])
        }
        return messages
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            return error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout ? "timed out" : "\(error)"
        }
        return "\(error)"
    }
}
