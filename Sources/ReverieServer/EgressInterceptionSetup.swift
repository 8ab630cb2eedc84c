import Foundation
import ReverieExecution

/// Makes the installation's egress interception at start-up: the CA in `<data-dir>/egress-ca`
/// (created the first time; its key 0600, apart from the database) and the extra trust roots
/// named by `IsolationSettings.egressTrustRootsFile`.
enum EgressInterceptionSetup {
    /// The CA's folder inside the data directory.
    static let folder = "egress-ca"

    static func make(configuration: HostConfiguration) throws -> EgressInterception {
        let authority = try EgressCertificateAuthority.loadOrCreate(
            directory: (configuration.dataDirectory as NSString).appendingPathComponent(folder))
        var roots: [String] = []
        if let file = configuration.isolation.egressTrustRootsFile {
            roots.append(try String(contentsOfFile: file, encoding: .utf8))
        }
        return try EgressInterception(authority: authority, extraTrustRootsPEM: roots)
    }
}
