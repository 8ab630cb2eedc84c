import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP client socket for tests that must misbehave: send half a request, never read,
/// read slowly, or connect from another loopback address. Reads never block a thread: they
/// poll and sleep.
final class RawSocket: @unchecked Sendable {
    private let fd: Int32

    /// - Parameters:
    ///   - source: the local address to connect from (e.g. `127.0.0.2`).
    ///   - receiveBuffer: `SO_RCVBUF` before connecting (small values make a stalled reader
    ///     fill the server's buffers quickly).
    init(port: Int, host: String = "127.0.0.1", source: String? = nil, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed: \(errno)") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard bound == 0 else { Glibc.close(fd); throw TestFailure("bind(\(source)) failed: \(errno)") }
        }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        inet_pton(AF_INET, host, &remote.sin_addr)
        let connected = withUnsafePointer(to: &remote) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard connected == 0 else { Glibc.close(fd); throw TestFailure("connect failed: \(errno)") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    deinit { Glibc.close(fd) }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let sent = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EAGAIN { usleep(1000); continue }
                throw TestFailure("send failed: \(errno)")
            }
            bytes = bytes.dropFirst(sent)
        }
    }

    /// What is readable now; `nil` once the server closed the connection (or reset it).
    func receiveAvailable() -> [UInt8]? {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                result += buffer[0..<count]
                continue
            }
            if count == 0 { return result.isEmpty ? nil : result }
            if errno == EAGAIN || errno == EWOULDBLOCK { return result }
            return result.isEmpty ? nil : result
        }
    }

    /// Reads until the server closes the connection or `timeout` passes.
    func readUntilClosed(timeout: Duration) async throws -> (bytes: [UInt8], closed: Bool) {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        while ContinuousClock.now < deadline {
            guard let chunk = receiveAvailable() else { return (received, true) }
            received += chunk
            if chunk.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        }
        return (received, false)
    }

    /// Reads until the bytes received end with `suffix`, the server closes, or `timeout` passes.
    func readUntil(endsWith suffix: String, timeout: Duration) async throws -> [UInt8] {
        let deadline = ContinuousClock.now + timeout
        let marker = Array(suffix.utf8)
        var received: [UInt8] = []
        while ContinuousClock.now < deadline, !received.suffix(marker.count).elementsEqual(marker) {
            guard let chunk = receiveAvailable() else { return received }
            received += chunk
            if chunk.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        }
        return received
    }

    /// Whether the server has closed the connection (reading nothing else).
    func isClosedByPeer() -> Bool {
        var byte: UInt8 = 0
        let count = recv(fd, &byte, 1, Int32(MSG_PEEK))
        return count == 0 || (count < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}

/// A loopback TCP port, bound (not listening) until closed: closing it yields a port that
/// refuses connections.
final class RawListeningPort: @unchecked Sendable {
    private var fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &address.sin_addr)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0 else { throw TestFailure("bind failed: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}
