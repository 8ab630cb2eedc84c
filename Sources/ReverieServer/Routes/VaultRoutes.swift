import HTTPTypes
import Hummingbird
import ReverieCore
import ReverieRuntime

/// `/v1/vaults` and their credentials, as the SDK's `beta.vaults` and `beta.vaults.credentials`.
struct VaultRoutes {
    let vaults: VaultService

    func register(on router: Router<ReverieRequestContext>) {
        let vaults = router.group("v1/vaults")
        vaults.post { request, context in
            try JSONResponse.encode(try await self.vaults.createVault(try VaultRequest(try await request.jsonObject(context: context), creating: true)))
        }
        vaults.get { request, _ in
            let query = request.query
            return try JSONResponse.page(try await self.vaults.listVaults(includeArchived: try query.bool("include_archived"), page: try query.page()))
        }
        vaults.get(":vault_id") { _, context in
            try JSONResponse.encode(try await self.vaults.vault(id: try context.pathParameter("vault_id")))
        }
        vaults.post(":vault_id") { request, context in
            let id = try context.pathParameter("vault_id")
            return try JSONResponse.encode(try await self.vaults.updateVault(id: id, try VaultRequest(try await request.jsonObject(context: context), creating: false)))
        }
        vaults.delete(":vault_id") { _, context in
            let id = try context.pathParameter("vault_id")
            try await self.vaults.deleteVault(id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "vault_deleted"])
        }
        vaults.post(":vault_id/archive") { _, context in
            try JSONResponse.encode(try await self.vaults.archiveVault(id: try context.pathParameter("vault_id")))
        }

        let credentials = vaults.group(":vault_id/credentials")
        credentials.post { request, context in
            let vaultID = try context.pathParameter("vault_id")
            return try JSONResponse.encode(try await self.vaults.createCredential(vaultID: vaultID, try await request.jsonObject(context: context)))
        }
        credentials.get { request, context in
            let query = request.query
            return try JSONResponse.page(
                try await self.vaults.listCredentials(
                    vaultID: try context.pathParameter("vault_id"), includeArchived: try query.bool("include_archived"), page: try query.page()))
        }
        credentials.get(":credential_id") { _, context in
            try JSONResponse.encode(
                try await self.vaults.credential(vaultID: try context.pathParameter("vault_id"), id: try context.pathParameter("credential_id")))
        }
        credentials.post(":credential_id") { request, context in
            let vaultID = try context.pathParameter("vault_id")
            let id = try context.pathParameter("credential_id")
            return try JSONResponse.encode(
                try await self.vaults.updateCredential(vaultID: vaultID, id: id, try CredentialUpdateRequest(try await request.jsonObject(context: context))))
        }
        credentials.delete(":credential_id") { _, context in
            let id = try context.pathParameter("credential_id")
            try await self.vaults.deleteCredential(vaultID: try context.pathParameter("vault_id"), id: id)
            return try JSONResponse.encode(["id": JSONValue.string(id), "type": "vault_credential_deleted"])
        }
        credentials.post(":credential_id/archive") { _, context in
            try JSONResponse.encode(
                try await self.vaults.archiveCredential(vaultID: try context.pathParameter("vault_id"), id: try context.pathParameter("credential_id")))
        }
        credentials.post(":credential_id/mcp_oauth_validate") { _, context in
            try JSONResponse.encode(
                try await self.vaults.validateCredential(vaultID: try context.pathParameter("vault_id"), id: try context.pathParameter("credential_id")).json)
        }
    }
}
