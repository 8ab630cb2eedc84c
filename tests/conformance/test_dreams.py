"""Dreams through the official SDK (`client.beta.dreams`) against a live `reverie serve` whose
dreamer model is `reverie mock-llm`, with strict response validation."""

from __future__ import annotations

import json
import time

import anthropic
import httpx
import pytest

from support import expect_error, make_agent, make_environment

EXTRACT = {"candidates": [{"kind": "workflow", "text": "Run the tests first.", "evidence": [{"session": "S1", "events": ["e1"]}]}]}
CURATE = {
    "operations": [
        {"op": "add", "path": "/lessons/tests.md", "content": "Run the tests first.", "rationale": "asked for", "evidence": [{"session": "S1", "events": ["e1"]}]},
        {"op": "update", "path": "/pinned.md", "content": "changed", "rationale": "r", "evidence": [{"session": "S1", "events": ["e1"]}]},
    ]
}


def _scenario(latency_ms: int = 0) -> dict:
    return {
        "rules": [
            {"name": "extract", "system_contains": "propose lessons", "reply": json.dumps(EXTRACT), "latency_ms": latency_ms},
            {"name": "curate", "system_contains": "You maintain a memory store", "reply": json.dumps(CURATE), "latency_ms": latency_ms},
        ],
        "fallback": {"reply": "ok"},
    }


@pytest.fixture
def mock(mock_llm):
    return mock_llm(_scenario())


@pytest.fixture
def dream_server(make_server, mock):
    return make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})


def _inputs(client: anthropic.Anthropic):
    store = client.beta.memory_stores.create(name="team")
    client.beta.memory_stores.memories.create(store.id, path="/pinned.md", content="keep me", extra_body={"pinned": True})
    sessions = []
    for index in range(3):
        session = client.beta.sessions.create(agent=make_agent(client).id, environment_id=make_environment(client).id)
        client.beta.sessions.events.send(session.id, events=[{"type": "user.message", "content": [{"type": "text", "text": f"task {index}"}]}])
        sessions.append(session.id)
    # Let the agents answer (the mock's fallback) so the logs are complete.
    deadline = time.monotonic() + 20
    while any(client.beta.sessions.retrieve(s).status != "idle" for s in sessions):
        assert time.monotonic() < deadline, "the sessions did not go idle within 20 s"
        time.sleep(0.1)
    return store, sessions


def _wait(client: anthropic.Anthropic, dream_id: str, statuses=("completed", "failed", "canceled")):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dream = client.beta.dreams.retrieve(dream_id)
        if dream.status in statuses:
            return dream
        time.sleep(0.1)
    raise AssertionError(f"dream {dream_id} did not reach {statuses}")


def test_dream_lifecycle_parses_strictly(dream_server) -> None:
    client = dream_server.client()
    store, sessions = _inputs(client)
    memories_before = {m.path: m.content_sha256 for m in client.beta.memory_stores.memories.list(store.id)}

    dream = client.beta.dreams.create(
        inputs=[{"type": "memory_store", "memory_store_id": store.id}, {"type": "sessions", "session_ids": sessions}],
        model="claude-dreamer",
        instructions="Focus on testing habits.",
    )
    assert dream.id.startswith("drm_")
    assert dream.type == "dream"
    assert dream.status in ("pending", "running")
    assert dream.output_behavior.type == "create_new"
    assert dream.inputs[1].session_ids == sessions

    done = _wait(client, dream.id)
    assert done.status == "completed", done.error
    assert done.ended_at is not None
    assert done.usage.input_tokens > 0
    output = done.outputs[0].memory_store_id
    assert output != store.id
    paths = {m.path for m in client.beta.memory_stores.memories.list(output, path_prefix="/lessons/")}
    assert paths == {"/lessons/tests.md"}
    # The input store is untouched.
    assert {m.path: m.content_sha256 for m in client.beta.memory_stores.memories.list(store.id)} == memories_before

    listed = client.beta.dreams.list(statuses=["completed"])
    assert dream.id in [item.id for item in listed.data]

    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "completed"):
        client.beta.dreams.cancel(dream.id)
    archived = client.beta.dreams.archive(dream.id)
    assert archived.archived_at is not None
    assert dream.id not in [item.id for item in client.beta.dreams.list().data]
    assert dream.id in [item.id for item in client.beta.dreams.list(include_archived=True).data]

    # The report and review are Reverie extensions, reached with plain HTTP.
    headers = {"x-api-key": dream_server.api_key}
    report = httpx.get(f"{dream_server.base_url}/v1/dreams/{dream.id}/report", headers=headers).json()
    assert [op["path"] for op in report["operations"]] == ["/lessons/tests.md"]
    # A change to a pinned memory citing the user's own words waits for a person.
    assert [held["path"] for held in report["withheld"]] == ["/pinned.md"]
    assert "pinned" in report["withheld"][0]["held_because"]
    reviewed = httpx.post(
        f"{dream_server.base_url}/v1/dreams/{dream.id}/review", headers=headers, json={"decision": "reject", "operation_ids": ["op_1", "wh_1"]}
    )
    assert reviewed.status_code == 200
    assert [m.path for m in client.beta.memory_stores.memories.list(output, path_prefix="/lessons/")] == []
    # Promoting what is left changes nothing in the input store, and happens once.
    promoted = httpx.post(f"{dream_server.base_url}/v1/dreams/{dream.id}/promote", headers=headers, json={})
    assert promoted.status_code == 200 and promoted.json()["promotion"]["changed_paths"] == []
    again = httpx.post(f"{dream_server.base_url}/v1/dreams/{dream.id}/promote", headers=headers, json={})
    assert again.status_code == 409 and again.json()["error"]["type"] == "conflict_error"


def test_cancel_is_idempotent_and_in_place_dreams_conflict(dream_server, mock) -> None:
    mock.set_scenario(_scenario(latency_ms=30_000))
    client = dream_server.client()
    store, sessions = _inputs(client)
    inputs = [{"type": "memory_store", "memory_store_id": store.id}, {"type": "sessions", "session_ids": sessions}]
    first = client.beta.dreams.create(inputs=inputs, model="claude-dreamer", output_behavior={"type": "update_existing", "memory_store_id": store.id})
    with expect_error(anthropic.ConflictError, 409, "conflict_error", first.id):
        client.beta.dreams.create(inputs=inputs, model="claude-dreamer", output_behavior={"type": "update_existing", "memory_store_id": store.id})
    canceled = client.beta.dreams.cancel(first.id)
    assert canceled.status == "canceled"
    assert client.beta.dreams.cancel(first.id).status == "canceled"
    assert client.beta.dreams.retrieve(first.id).status == "canceled"


def test_bad_dream_requests(dream_server) -> None:
    client = dream_server.client()
    store = client.beta.memory_stores.create(name="s")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "sesn_nope"):
        client.beta.dreams.create(
            inputs=[{"type": "memory_store", "memory_store_id": store.id}, {"type": "sessions", "session_ids": ["sesn_nope"]}], model="m"
        )
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "inputs"):
        client.beta.dreams.create(inputs=[{"type": "memory_store", "memory_store_id": store.id}], model="m")
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "drm_missing"):
        client.beta.dreams.retrieve("drm_missing")
