import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import ReverieCore

/// The one HTTP client that every model provider shares. Create it once, pass it to the
/// providers (or to `ModelCatalog`) and call `shutdown()` when the process stops.
public final class ModelHTTPClient: Sendable {
    let client: HTTPClient

    /// - Parameters:
    ///   - connectTimeout: How long opening a connection may take.
    ///   - maxConnectionsPerHost: HTTP/1 connections kept per model server. Every in-flight
    ///     call holds one connection, so this bounds concurrent calls to one server.
    public init(connectTimeout: Duration = .seconds(10), maxConnectionsPerHost: Int = 1024) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = TimeAmount.nanoseconds(Int64(connectTimeout.seconds * 1e9))
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(1, maxConnectionsPerHost)
        configuration.redirectConfiguration = .disallow
        // A refused connection fails the call at once; `RetryingModelProvider` owns retries.
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .enabled(limit: .none)
        self.client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// Closes every connection. Calls made afterwards fail with `ModelError(.connection)`.
    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// Sends a JSON POST and hands the response head and body to `handle`, all within `timeout`.
    /// Non-2xx responses become a classified `ModelError`; transport failures become
    /// `.connection`, `.timeout` or (once the body has started) `.truncated`.
    func postJSON<T: Sendable>(
        url: String, headers: [(String, String)], body: JSONValue, timeout: Duration,
        handle: @escaping @Sendable (HTTPClientResponse) async throws -> T
    ) async throws -> T {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        let bytes: Data
        do {
            bytes = try JSONCoding.data(body)
        } catch {
            throw ModelError(.invalidRequest, "could not encode the request: \(error)")
        }
        request.body = .bytes(ByteBuffer(bytes: bytes))
        let prepared = request
        let client = self.client
        return try await Self.withTimeout(timeout) {
            let response: HTTPClientResponse
            do {
                response = try await client.execute(prepared, timeout: TimeAmount.nanoseconds(Int64(timeout.seconds * 1e9)))
            } catch {
                throw Self.classify(transportError: error, duringBody: false)
            }
            guard (200..<300).contains(Int(response.status.code)) else {
                let data = (try? await response.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) } ?? Data()
                throw ModelError.fromHTTP(status: Int(response.status.code), headers: response.headers, body: data)
            }
            do {
                return try await handle(response)
            } catch let error as ModelError {
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw Self.classify(transportError: error, duringBody: true)
            }
        }
    }

    /// Reads a whole (non-streamed) body as JSON.
    static func readJSON(_ response: HTTPClientResponse, limit: Int = 64 << 20) async throws -> JSONValue {
        let buffer = try await response.body.collect(upTo: limit)
        do {
            return try JSONCoding.decode(JSONValue.self, from: Data(buffer.readableBytesView))
        } catch {
            throw ModelError(.invalidResponse, "the reply is not JSON: \(error)", statusCode: Int(response.status.code))
        }
    }

    /// Runs `operation`, failing with `ModelError(.timeout)` when it takes longer than `timeout`.
    static func withTimeout<T: Sendable>(_ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw ModelError(.timeout, "no complete reply within \(timeout.seconds) s")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw CancellationError() }
            return first
        }
    }

    static func classify(transportError error: any Error, duringBody: Bool) -> any Error {
        if let error = error as? ModelError { return error }
        if error is CancellationError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                return ModelError(.timeout, "the model server did not answer in time (\(error))")
            case .cancelled:
                return CancellationError()
            case .alreadyShutdown:
                return ModelError(.connection, "the HTTP client was shut down")
            case .invalidURL, .emptyHost, .emptyScheme:
                return ModelError(.notConfigured, "invalid model server URL (\(error))")
            case .bodyLengthMismatch, .remoteConnectionClosed:
                return duringBody
                    ? ModelError(.truncated, "the reply was cut off (\(error))")
                    : ModelError(.connection, "the connection closed (\(error))")
            default:
                break
            }
        }
        if duringBody { return ModelError(.truncated, "the reply was cut off: \(error)") }
        return ModelError(.connection, "could not reach the model server: \(error)")
    }
}
