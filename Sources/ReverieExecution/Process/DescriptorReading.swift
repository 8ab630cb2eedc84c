#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Reading an open file descriptor to its end.
enum DescriptorReading {
    /// Everything `descriptor` gives until end of file, a read error, or more than `limit`
    /// bytes (then `exceeded` is true and `data` holds what was read so far).
    static func readAll(_ descriptor: Int32, limit: Int = .max) -> (data: Data, exceeded: Bool) {
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while data.count <= limit {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return (data, false) }
            data.append(contentsOf: chunk[0..<count])
        }
        return (data, true)
    }
}
