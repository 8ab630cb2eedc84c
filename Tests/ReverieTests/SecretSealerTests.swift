import Foundation
import Testing
@testable import ReverieCore
import ReverieStore
@testable import ReverieRuntime

@Suite(.timeLimit(.minutes(3))) struct SecretSealerTests {
    @Test func sealedSecretsOpenOnlyWithTheKeyAndContext() throws {
        let sealer = try SecretSealer(key: WebhookSigningSecret.generate().key, id: "first")
        let secret = WebhookSigningSecret.generate()
        let sealed = try sealer.seal(secret, endpointID: "whep_a")
        #expect(sealed.hasPrefix("v2.first."))
        #expect(!sealed.contains(secret.key.base64EncodedString()))
        #expect(try sealer.open(sealed, endpointID: "whep_a") == secret)
        #expect(throws: APIError.self) { try sealer.open(sealed, endpointID: "whep_b") }
        let other = try SecretSealer(key: WebhookSigningSecret.generate().key, id: "first")
        #expect(throws: APIError.self) { try other.open(sealed, endpointID: "whep_a") }
        #expect(throws: APIError.self) { try SecretSealer(key: Data(count: 16)) }
        #expect(throws: APIError.self) { try sealer.open("v2.first.!!!", context: "whep_a") }
        #expect(throws: APIError.self) { try sealer.open("plain", context: "whep_a") }
    }

    /// Webhook secrets sealed before keyrings (`v1.`, no key id) still open, and re-seal to the current key.
    @Test func legacyFormOpensWithAnyKeyOfTheRing() throws {
        let oldKey = try SecretKeyring.Key(id: SecretKeyring.legacyKeyID, material: WebhookSigningSecret.generate().key)
        let old = SecretSealer(keyring: try SecretKeyring(keys: [oldKey]))
        let v2 = try old.seal(Data("signing".utf8), context: "whep_a")
        let legacy = "v1." + v2.split(separator: ".", maxSplits: 2)[2]
        let rotated = SecretSealer(keyring: try old.keyring.adding(SecretKeyring.Key.generate()))
        #expect(try rotated.open(legacy, context: "whep_a") == Data("signing".utf8))
        #expect(!rotated.isCurrent(legacy))
        let resealed = try rotated.reseal(legacy, context: "whep_a")
        #expect(rotated.isCurrent(resealed))
        #expect(try rotated.reseal(resealed, context: "whep_a") == resealed)
        // Once the old key is retired, only the re-sealed form opens.
        let retired = SecretSealer(keyring: rotated.keyring.currentOnly)
        #expect(try retired.open(resealed, context: "whep_a") == Data("signing".utf8))
        #expect(throws: APIError.self) { try retired.open(legacy, context: "whep_a") }
        #expect(throws: APIError.self) { try retired.open(v2, context: "whep_a") }
    }

    @Test func keyringTextRoundTripsAndRejectsBadLines() throws {
        let ring = try SecretKeyring(keys: [SecretKeyring.Key.generate(), SecretKeyring.Key.generate()])
        let parsed = try SecretKeyring.parse(ring.text)
        #expect(parsed.keys.map(\.id) == ring.keys.map(\.id))
        #expect(parsed.current.material == ring.current.material)
        let legacy = try SecretKeyring.parse(Data(count: 32).base64EncodedString() + "\n")
        #expect(legacy.current.id == SecretKeyring.legacyKeyID)
        #expect(throws: APIError.self) { try SecretKeyring.parse("") }
        #expect(throws: APIError.self) { try SecretKeyring.parse("k1 notbase64!\n") }
        #expect(throws: APIError.self) { try SecretKeyring.parse("k1 \(Data(count: 16).base64EncodedString())\n") }
        #expect(throws: APIError.self) { try SecretKeyring.parse("a/b \(Data(count: 32).base64EncodedString())\n") }
        let key = SecretKeyring.Key.generate()
        #expect(throws: APIError.self) { try SecretKeyring(keys: [key, key]) }
    }

    @Test func keyringFileIsCreatedOwnerOnlyAndReused() throws {
        let directory = TemporaryDirectory.make()
        let first = try SecretKeyringFile.load(directory: directory)
        let second = try SecretKeyringFile.load(directory: directory)
        #expect(first.keys.count == 1)
        #expect(first.current.id == second.current.id && first.current.material == second.current.material)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/secrets.keyring")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        let next = try first.adding(SecretKeyring.Key.generate())
        try SecretKeyringFile.save(next, directory: directory)
        #expect(try SecretKeyringFile.load(directory: directory).current.id == next.current.id)
        let saved = try FileManager.default.attributesOfItem(atPath: directory + "/secrets.keyring")
        #expect((saved[.posixPermissions] as? NSNumber)?.intValue == 0o600)
    }

    /// A data directory from before keyrings: its `webhook.key` becomes the keyring's first key.
    @Test func webhookKeyFileIsImported() throws {
        let directory = TemporaryDirectory.make()
        let key = WebhookSigningSecret.generate().key
        try (key.base64EncodedString() + "\n").write(toFile: directory + "/webhook.key", atomically: true, encoding: .utf8)
        let ring = try SecretKeyringFile.load(directory: directory)
        #expect(ring.keys.count == 1)
        #expect(ring.current.id == SecretKeyring.legacyKeyID)
        #expect(ring.current.material == key)
        SecretKeyringFile.removeLegacyFile(directory: directory, keeping: ring)
        #expect(FileManager.default.fileExists(atPath: directory + "/webhook.key"))
        SecretKeyringFile.removeLegacyFile(directory: directory, keeping: try ring.adding(SecretKeyring.Key.generate()).currentOnly)
        #expect(!FileManager.default.fileExists(atPath: directory + "/webhook.key"))
    }

    /// Values holding secrets print redacted, however they are interpolated.
    @Test func secretHoldingValuesPrintRedacted() {
        let secrets = CredentialSecrets(token: "tok-print-1", secretValue: "val-print-2")
        let credentials = SessionCredentials(
            mcpServers: [SessionCredentials.MCPServer(credentialID: "vcrd_1", vaultID: "vlt_1", mcpServerURL: "https://m", bearerToken: "tok-print-3")],
            environmentSecrets: [SessionCredentials.EnvironmentSecret(
                credentialID: "vcrd_2", name: "N", value: "val-print-4", allowedHosts: nil, injectHeader: true, injectBody: false)])
        for text in ["\(secrets)", String(reflecting: secrets), "\(credentials)", String(reflecting: credentials)] {
            #expect(!text.contains("print-"), "\(text)")
        }
    }
}
