import Foundation

/// Feeds arbitrary bytes through everything that reads a request body: the JSON reader, the
/// writer (round trip), `ObjectReader` and every typed request parser. Used by the fuzz target
/// (`Sources/ReverieFuzz`) and the corpus replay in the test suite. Bad input must end in a
/// thrown `APIError`, never a crash; and what parses must write back to the same value.
public enum RequestParsingProbe {
    /// Returns false only when a value that parsed does not survive a write and re-read.
    @discardableResult
    public static func exercise(_ data: Data) -> Bool {
        guard let value = try? JSONValueBytes.parse(data) else {
            _ = try? ObjectReader(body: data)
            return true
        }
        guard let written = try? JSONValueBytes.write(value), let reread = try? JSONValueBytes.parse(Data(written)), reread == value else {
            return false
        }
        guard let reader = try? ObjectReader(value) else { return true }
        _ = try? AgentCreateRequest(reader)
        _ = try? AgentUpdateRequest(reader)
        _ = try? EnvironmentRequest(reader, creating: true)
        _ = try? EnvironmentRequest(reader, creating: false)
        _ = try? SessionCreateRequest(reader)
        _ = try? SessionUpdateRequest(reader)
        _ = try? EventsSendRequest(reader)
        _ = try? SessionImportRequest(reader)
        _ = try? MemoryStoreRequest(reader, creating: true)
        _ = try? MemoryCreateRequest(reader)
        _ = try? MemoryUpdateRequest(reader)
        _ = try? DreamRequest(reader)
        _ = try? DreamReviewRequest(reader)
        _ = try? DreamPromoteRequest(reader)
        _ = try? DreamPolicyRequest(reader)
        _ = try? EvaluationRequest(reader)
        _ = try? WebhookEndpointRequest(reader, creating: true, allowPlainHTTP: false)
        _ = try? VaultRequest(reader, creating: true)
        _ = try? VaultRequest(reader, creating: false)
        if let create = try? CredentialCreateRequest(reader, now: Date(timeIntervalSince1970: 0)) {
            let credential = create.makeCredential(id: "vcrd_probe", vaultID: "vlt_probe", now: Date(timeIntervalSince1970: 0))
            // What parses must survive the stored form, and take an update of its own shape.
            _ = try? CredentialAuth(stored: credential.auth.json)
            _ = try? CredentialUpdateRequest(reader).applied(to: credential, secrets: create.secrets, now: Date(timeIntervalSince1970: 1))
        }
        return true
    }
}
