import Foundation
import Logging
import ReverieCore
import ReverieExecution

/// Serves one claimed work item: holds its lease with heartbeats while it runs the session's
/// built-in tool calls on `plane` and answers each with `user.tool_result`, until the session's
/// turn has been over for `maxIdle` or the lease ends. Then it stops the item, unless the lease
/// was lost (the item then belongs to the queue or another worker).
struct WorkItemServer: Sendable {
    let client: WorkQueueClient
    let key: String
    let maxIdle: Duration
    let logger: Logger

    /// Why serving an item ended.
    enum Ending: Sendable, Equatable {
        /// The session's turn was over (or the session ended): the worker is done with it.
        case finished
        /// The server stopped the item, or stopped extending its lease.
        case stopped
        /// Another worker holds the lease, or it lapsed: the item is left alone.
        case leaseLost
        /// The item or session could not be served (a permanent error).
        case failed(String)
    }

    /// `plane` makes the session's plane, given its id and the item's credential.
    func serve(_ item: JSONValue, plane: @escaping @Sendable (String, String) async throws -> any ExecutionPlane) async -> Ending {
        guard let workID = item["id"]?.stringValue, let sessionID = item["data"]?["id"]?.stringValue else { return .failed("malformed work item") }
        guard item["data"]?["type"]?.stringValue == "session" else {
            try? await client.stop(workID, credential: key)
            return .finished
        }
        do {
            try await client.acknowledge(workID, key: key)
        } catch {
            logger.warning("ack failed", metadata: ["work": "\(workID)", "error": "\(error)"])
            return .failed("ack failed")
        }
        let credential = Self.sessionsToken(from: item["secret"]?.stringValue) ?? key
        let ending = await withTaskGroup(of: Ending.self) { group in
            group.addTask { await self.holdLease(workID, credential: credential) }
            group.addTask {
                do {
                    return try await self.runSession(sessionID, credential: credential, plane: try await plane(sessionID, credential))
                } catch is CancellationError {
                    return .finished
                } catch {
                    return .failed("\(error)")
                }
            }
            let first = await group.next() ?? .finished
            group.cancelAll()
            return first
        }
        if ending != .leaseLost {
            do {
                try await client.stop(workID, credential: credential)
            } catch let failure as WorkQueueClient.Failure where failure.status == 409 {
                // Already stopped.
            } catch {
                logger.warning("stop failed", metadata: ["work": "\(workID)", "error": "\(error)"])
            }
        }
        return ending
    }

    // MARK: the lease

    private func holdLease(_ workID: String, credential: String) async -> Ending {
        var last = "NO_HEARTBEAT"
        var interval: Duration = .seconds(1)
        var ttl: Duration = .seconds(60)
        var lastSuccess = ContinuousClock.now
        while !Task.isCancelled {
            do {
                let reply = try await client.heartbeat(workID, expected: last, credential: credential)
                last = reply["last_heartbeat"]?.stringValue ?? last
                lastSuccess = .now
                if let seconds = reply["ttl_seconds"]?.intValue, seconds > 0 {
                    ttl = .seconds(seconds)
                    interval = max(.milliseconds(500), min(.seconds(seconds) / 2, .seconds(30)))
                }
                let state = reply["state"]?.stringValue
                if state == "stopping" || state == "stopped" || reply["lease_extended"] != true { return .stopped }
            } catch let failure as WorkQueueClient.Failure where failure.status == 412 {
                logger.warning("lease lost: another worker holds the item", metadata: ["work": "\(workID)"])
                return .leaseLost
            } catch let failure as WorkQueueClient.Failure where failure.isPermanent {
                // A sessions token stops working once the item was handed to another worker.
                return failure.status == 401 ? .leaseLost : .failed("heartbeat refused: \(failure)")
            } catch {
                if ContinuousClock.now - lastSuccess > ttl { return .leaseLost }
            }
            try? await Task.sleep(for: interval)
        }
        return .finished
    }

    // MARK: the session

    private enum Input: Sendable {
        case events([JSONValue])
        case tick
        case streamFailed(String)
    }

    private func runSession(_ sessionID: String, credential: String, plane: any ExecutionPlane) async throws -> Ending {
        let (inputs, continuation) = AsyncStream<Input>.makeStream()
        let client = self.client
        let streaming = Task {
            var backoff: Duration = .milliseconds(250)
            while !Task.isCancelled {
                do {
                    try await client.stream(
                        sessionID: sessionID, credential: credential,
                        onOpen: { continuation.yield(.events(try await client.events(sessionID: sessionID, credential: credential))) },
                        onEvent: { continuation.yield(.events([$0])) })
                    backoff = .milliseconds(250)
                } catch let failure as WorkQueueClient.Failure where failure.isPermanent {
                    continuation.yield(.streamFailed("\(failure)"))
                    return
                } catch {
                    try? await Task.sleep(for: backoff)
                    backoff = min(backoff * 2, .seconds(5))
                }
            }
        }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                continuation.yield(.tick)
            }
        }
        defer {
            streaming.cancel()
            ticker.cancel()
            continuation.finish()
        }
        var calls = SessionCalls()
        var idleSince: ContinuousClock.Instant?
        for await input in inputs {
            try Task.checkCancellation()
            switch input {
            case .events(let events):
                for event in events { calls.apply(event) }
            case .tick:
                break
            case .streamFailed(let reason):
                return .failed("event stream refused: \(reason)")
            }
            if calls.terminated { return .finished }
            for call in calls.takeRunnable() {
                try Task.checkCancellation()
                let output = await plane.execute(ToolCall(sessionID: sessionID, toolUseID: call.id, name: call.name, input: call.input))
                try await post(output, for: call, sessionID: sessionID, credential: credential)
                calls.markAnswered(call.id)
            }
            if calls.turnEnded, !calls.hasOpenCalls {
                let since = idleSince ?? .now
                idleSince = since
                if ContinuousClock.now - since >= maxIdle { return .finished }
            } else {
                idleSince = nil
            }
        }
        return .finished
    }

    /// Posts a call's result; a refusal (the call was answered meanwhile, or interrupted) is logged and dropped.
    private func post(_ output: ToolOutput, for call: SessionCalls.Call, sessionID: String, credential: String) async throws {
        var event: [String: JSONValue] = [
            "type": "user.tool_result", "tool_use_id": .string(call.id), "is_error": .bool(output.isError),
            "content": .array(output.content.map { item in
                switch item {
                case .text(let text): ["type": "text", "text": .string(text.isEmpty ? "(no output)" : text)]
                case .media(let block): block
                }
            }),
        ]
        if let thread = call.threadID { event["session_thread_id"] = .string(thread) }
        var attempt = 0
        while true {
            do {
                try await client.postResult(sessionID: sessionID, event: .object(event), credential: credential)
                return
            } catch let failure as WorkQueueClient.Failure where failure.isPermanent {
                logger.warning("tool result refused", metadata: ["session": "\(sessionID)", "call": "\(call.id)", "error": "\(failure)"])
                return
            } catch {
                attempt += 1
                if attempt >= 8 { throw error }
                try await Task.sleep(for: .milliseconds(100 << min(attempt, 5)))
            }
        }
    }

    /// The sessions token in a work item's `secret` (URL-safe base64 of `{"sessions_token": …}`).
    static func sessionsToken(from secret: String?) -> String? {
        guard var base64 = secret?.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/"), !base64.isEmpty else { return nil }
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let payload = try? JSONCoding.decode(JSONValue.self, from: data) else { return nil }
        return payload["sessions_token"]?.stringValue
    }
}
