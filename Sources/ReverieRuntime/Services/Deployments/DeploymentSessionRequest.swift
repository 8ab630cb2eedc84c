import Foundation
import ReverieCore

/// The session a deployment's run creates, as a `POST /v1/sessions` body would describe it,
/// so a run goes through the same checks as a client's session.
enum DeploymentSessionRequest {
    static func make(for deployment: Deployment) throws -> SessionCreateRequest {
        var body: [String: JSONValue] = [
            "agent": .object(["type": "agent", "id": .string(deployment.agent.id), "version": .int(Int64(deployment.agent.version))]),
            "environment_id": .string(deployment.environmentID),
            "title": .string(String(deployment.name.prefix(SessionCreateRequest.maxTitleLength))),
            "resources": .array(deployment.resources),
        ]
        if !deployment.vaultIDs.isEmpty { body["vault_ids"] = .array(deployment.vaultIDs.map(JSONValue.string)) }
        if let budget = deployment.budget { body["budget"] = try JSONCoding.value(budget) }
        var request = try SessionCreateRequest(try ObjectReader(.object(body)))
        request.initialEvents = try UserEventRequest.parse(
            deployment.initialEvents, at: FieldPath("initial_events"), allowedTypes: DeploymentLimits.initialEventTypes)
        return request
    }
}
