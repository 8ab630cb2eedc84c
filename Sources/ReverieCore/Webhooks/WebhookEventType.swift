/// The webhook event types an endpoint may subscribe to in `enabled_events`.
///
/// `emitted` are the types Reverie sends: the Managed Agents types of the official SDK's
/// `BetaWebhookEventData` union that Reverie has a source for, plus Reverie's own `dream.*`.
/// `compatibility` are the organization-level types the SDK's `enabled_events` parameter lists;
/// they are accepted so the SDK's calls work unchanged, but Reverie has no source for them
/// and never sends them.
public enum WebhookEventType {
    /// Session status changes and lifecycle.
    public static let session = [
        "session.created", "session.pending", "session.updated", "session.running", "session.idled", "session.requires_action",
        "session.status_run_started", "session.status_idled", "session.budget_reached",
        "session.status_rescheduled", "session.status_terminated", "session.archived", "session.deleted",
        "session.outcome_evaluation_ended", "session.thread_created", "session.thread_idled", "session.thread_terminated",
    ]
    public static let agent = ["agent.created", "agent.updated", "agent.archived", "agent.deleted"]
    public static let environment = ["environment.created", "environment.updated", "environment.archived", "environment.deleted"]
    public static let memoryStore = ["memory_store.created", "memory_store.archived", "memory_store.deleted"]
    public static let vault = ["vault.created", "vault.archived", "vault.deleted"]
    /// `data.vault_id` names the credential's vault.
    public static let vaultCredential = [
        "vault_credential.created", "vault_credential.archived", "vault_credential.deleted", "vault_credential.refresh_failed",
    ]
    /// A deployment's changes (`data.id` is the deployment id); `deployment.deleted` is never
    /// sent, as deployments are archived, not deleted.
    public static let deployment = ["deployment.created", "deployment.updated", "deployment.paused", "deployment.unpaused", "deployment.archived"]
    /// A deployment run's start and outcome (`data.id` is the run id).
    public static let deploymentRun = ["deployment_run.started", "deployment_run.succeeded", "deployment_run.failed"]
    /// Reverie's own: a dream's life (`data.id` is the dream id, `drm_…`).
    /// Enqueue them with `OutboxEvent.dream(type:dreamID:)`.
    public static let dream = OutboxEvent.DreamEvent.allCases.map(\.type)
    /// Reverie's own: an evaluation's life (`data.id` is the evaluation id, `eval_…`).
    public static let evaluation = OutboxEvent.EvaluationEvent.allCases.map(\.type)

    /// Every type Reverie sends.
    public static let emitted: [String] =
        session + agent + environment + memoryStore + vault + vaultCredential + deployment + deploymentRun + dream + evaluation

    /// Types of the SDK's webhook event union (2.14) and of `enabled_events`' organization
    /// types that Reverie accepts but has no source for: subscribing works, nothing is sent.
    public static let compatibility = [
        "deployment.deleted",
        "external_key.failed", "external_key.recovered", "external_storage.failed", "external_storage.recovered",
        "user_profile.enforcement_action_opened", "user_profile.enforcement_action_resolved", "user_profile.program_status_updated",
    ]

    /// Every type `enabled_events` accepts.
    public static let accepted: Set<String> = Set(emitted + compatibility)

    /// Types whose `data` names a session thread (`session_thread_id`).
    public static let threadScoped: Set<String> = ["session.thread_created", "session.thread_idled", "session.thread_terminated"]
}
