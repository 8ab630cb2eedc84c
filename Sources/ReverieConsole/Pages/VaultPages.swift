import Foundation
import Hummingbird
import ReverieCore
import ReverieRuntime

extension Console {
    /// Vaults and their credentials: metadata only (names, types, servers, hosts). Secrets are
    /// write-only and never reach a page.
    func registerVaults<Context: RequestContext>(on router: Router<Context>) {
        router.get("console/vaults") { request, context in
            await self.guardedPage(request, context) { signedIn in
                let vaults = try await self.platform.vaults.listVaults(includeArchived: true, page: PageRequest(limit: 100))
                var rows: [[String: Any]] = []
                for vault in vaults.items {
                    let credentials = try await self.platform.vaults.listCredentials(vaultID: vault.id, includeArchived: true, page: PageRequest(limit: 100))
                    rows.append([
                        "id": vault.id, "name": vault.displayName, "archived": vault.archivedAt != nil,
                        "created": DisplayFormat.shortDate(vault.createdAt), "credentials": credentials.items.map(Self.credentialRow),
                        "noCredentials": credentials.items.isEmpty,
                    ])
                }
                return self.page("vaults", title: "Vaults", section: .vaults, signedIn: signedIn, data: ["vaults": rows, "empty": rows.isEmpty])
            }
        }
    }

    static func credentialRow(_ credential: VaultCredential) -> [String: Any] {
        let target: String
        switch credential.auth {
        case .staticBearer(let url): target = url
        case .mcpOAuth(let oauth): target = oauth.mcpServerURL + (oauth.refresh == nil ? "" : " (refreshable)")
        case .environmentVariable(let variable):
            target = variable.secretName + " → " + (variable.allowedHosts?.joined(separator: ", ") ?? "any allowed host")
        }
        return [
            "id": credential.id, "name": credential.displayName ?? "", "type": credential.auth.type, "target": target,
            "archived": credential.archivedAt != nil, "updated": DisplayFormat.shortDate(credential.updatedAt),
        ]
    }
}
