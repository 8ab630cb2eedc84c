import ReverieCore
import ReverieExecution
import Synchronization

/// A resolver answering from a fixed table and remembering every name it was asked about.
final class FakeHostResolver: HostResolver {
    private let table: [String: [NetworkAddress]]
    private let asked = Mutex<[String]>([])

    /// `table` maps names to addresses written as text; names not in it do not resolve.
    init(_ table: [String: [String]]) {
        self.table = table.mapValues { $0.compactMap(NetworkAddress.init) }
    }

    /// Every name looked up, in order.
    var lookups: [String] { asked.withLock { $0 } }

    func addresses(of host: String) async -> [NetworkAddress] {
        asked.withLock { $0.append(host) }
        return table[host] ?? []
    }
}
