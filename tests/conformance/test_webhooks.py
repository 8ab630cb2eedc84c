"""Webhooks through the official SDK against a live `reverie serve`.

* Endpoint management with `client.beta.organization.webhooks` (create, retrieve, update,
  list with `SyncPage` paging, delete, regenerate_signing_secret).
* A receiver on loopback that verifies every delivery three ways: the SDK's
  `client.beta.webhooks.unwrap(...)`, the `standardwebhooks` package, and a plain HMAC.
* A real session run by the agent runtime, and real dreams run by the dream runner (both
  against `reverie mock-llm`), whose whole lives reach the receiver.
* Delivery after `kill -9`: after a session finished but before its events were delivered,
  and while a delivery was in flight.

About `enabled_events` and strict validation: the SDK types `enabled_events` as a Literal of
the five organization-level types only (`external_key.*`, `user_profile.*`). Reverie accepts
those (and never sends them) plus its own types (`session.*`, `agent.*`, `dream.*`, ...).
A response listing Reverie's types therefore fails `_strict_response_validation=True`; the
SDK's default (non-strict) client reads it fine. So: CRUD shape is checked with a strict
client on organization-level types, and Reverie's types are used with the default client.

Requires the `standardwebhooks` package (`pip install anthropic[webhooks]`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Iterator, Optional

import anthropic
import httpx
import pytest
import standardwebhooks

from conftest import ReverieServer

ORG_EVENTS = ["external_key.failed", "external_key.recovered"]
SESSION_EVENTS = [
    "session.created", "session.updated", "session.running", "session.idled", "session.requires_action",
    "session.status_rescheduled", "session.status_terminated", "session.archived", "session.deleted",
    "session.outcome_evaluation_ended", "session.thread_created", "session.thread_idled", "session.thread_terminated",
]
DREAM_EVENTS = ["dream.created", "dream.running", "dream.completed", "dream.failed", "dream.canceled"]
ALLOW = "--webhooks-allow-private"


# -- helpers -----------------------------------------------------------------------------------


def lenient(server: ReverieServer, **options) -> anthropic.Anthropic:
    """The SDK's default client (no strict response validation): reads Reverie's event types."""
    return anthropic.Anthropic(base_url=server.base_url, api_key=server.api_key, max_retries=0, timeout=15.0, **options)


def get(server: ReverieServer, path: str) -> dict:
    response = httpx.get(server.base_url + path, headers={"x-api-key": server.api_key}, timeout=10)
    response.raise_for_status()
    return response.json()


def wait_until(predicate: Callable[[], object], timeout: float = 30, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what} not reached in {timeout} s")
        time.sleep(0.05)


def make_session(client: anthropic.Anthropic, **fields) -> str:
    agent = client.beta.agents.create(name="webhook-tester", model="mock-model")
    environment = client.beta.environments.create(name="webhook-env")
    return client.beta.sessions.create(agent=agent.id, environment_id=environment.id, **fields).id


def verify(client: anthropic.Anthropic, secret: str, headers: dict[str, str], body: str):
    """Verifies one delivery three ways; returns the SDK's parsed event."""
    event = client.beta.webhooks.unwrap(body, headers=headers, key=secret)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == json.loads(body)
    key = base64.b64decode(secret[len("whsec_"):])
    message = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
    assert expected in headers["webhook-signature"].split(" ")
    return event


# -- the receiver ------------------------------------------------------------------------------


class Receiver:
    """An HTTP receiver on loopback recording `(headers, body)` of each POST. `respond(n)` picks
    the status of the n-th request (0-based); `hold` makes requests wait until released."""

    def __init__(self, respond: Callable[[int], int] = lambda n: 200) -> None:
        self.respond = respond
        self.requests: list[tuple[dict[str, str], str]] = []
        self.lock = threading.Lock()
        self.hold: Optional[threading.Event] = None
        self.arrived = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    index = len(receiver.requests)
                    receiver.requests.append((headers, body))
                    receiver.arrived.notify_all()
                    hold = receiver.hold
                if hold is not None:
                    hold.wait(30)
                status = receiver.respond(index)
                try:
                    self.send_response(status)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, predicate: Callable[[list[tuple[dict[str, str], str]]], bool], timeout: float = 30) -> list:
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self.requests):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    types = [json.loads(body)["data"]["type"] for _, body in self.requests]
                    pytest.fail(f"receiver: condition not met in {timeout} s; got {types}")
                self.arrived.wait(remaining)
            return list(self.requests)

    def types(self) -> list[str]:
        with self.lock:
            return [json.loads(body)["data"]["type"] for _, body in self.requests]

    def close(self) -> None:
        if self.hold is not None:
            self.hold.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    instance = Receiver()
    yield instance
    instance.close()


def runtime_env(mock) -> dict[str, str]:
    """The environment of a server whose models are the mock model server `mock`."""
    return {"ANTHROPIC_BASE_URL": mock.url, "ANTHROPIC_API_KEY": "mock-key"}


def dreamer_scenario(latency_ms: int = 0) -> dict:
    """The dreamer's extraction and curation replies (one lesson added); anything else gets "ok"."""
    evidence = [{"session": "S1", "events": ["e1"]}]
    extract = {"candidates": [{"kind": "workflow", "text": "Run the tests first.", "evidence": evidence}]}
    curate = {"operations": [{"op": "add", "path": "/lessons/tests.md", "content": "Run the tests first.", "rationale": "asked for", "evidence": evidence}]}
    return {
        "rules": [
            {"name": "extract", "system_contains": "propose lessons", "reply": json.dumps(extract), "latency_ms": latency_ms},
            {"name": "curate", "system_contains": "You maintain a memory store", "reply": json.dumps(curate), "latency_ms": latency_ms},
        ],
        "fallback": {"reply": "ok"},
    }


# -- endpoint management -----------------------------------------------------------------------


def test_endpoint_management_matches_the_sdk(make_server, receiver) -> None:
    server = make_server(ALLOW)
    client = server.client()  # strict response validation
    webhooks = client.beta.organization.webhooks

    created = webhooks.create(url=receiver.url, enabled_events=["external_key.failed"], name="ops", description="pager")
    assert isinstance(created, anthropic.types.beta.organization.BetaNewOrganizationWebhookEndpoint)
    assert created.id.startswith("whep_")
    assert created.signing_secret.startswith("whsec_")
    assert len(base64.b64decode(created.signing_secret[len("whsec_"):])) == 32
    assert (created.name, created.description, created.state, created.disabled_reason) == ("ops", "pager", "enabled", "")
    assert created.enabled_events == ["external_key.failed"]
    assert created.url == receiver.url

    fetched = webhooks.retrieve(created.id)
    assert isinstance(fetched, anthropic.types.beta.organization.BetaOrganizationWebhookEndpoint)
    assert "signing_secret" not in fetched.model_dump()
    assert fetched.created_at == created.created_at

    updated = webhooks.update(created.id, name="ops2", state="disabled", enabled_events=[])
    assert (updated.name, updated.state, updated.disabled_reason) == ("ops2", "disabled", "")
    assert updated.enabled_events == ["external_key.failed"]  # an empty list leaves the set unchanged
    assert updated.updated_at > created.updated_at
    assert webhooks.update(created.id, state="enabled").state == "enabled"

    others = [webhooks.create(url=receiver.url, enabled_events=ORG_EVENTS) for _ in range(2)]
    page = webhooks.list(limit=2)
    assert [item.id for item in page.data] == [others[1].id, others[0].id]
    assert page.has_more is True and page.first_id == others[1].id and page.last_id == others[0].id
    assert [item.id for item in webhooks.list(limit=1)] == [others[1].id, others[0].id, created.id]  # auto-paging via after_id
    assert [item.id for item in webhooks.list(order="asc")] == [created.id, others[0].id, others[1].id]
    before = webhooks.list(before_id=created.id, limit=5)
    assert [item.id for item in before.data] == [others[1].id, others[0].id]

    rotated = webhooks.regenerate_signing_secret(created.id)
    assert rotated.signing_secret.startswith("whsec_") and rotated.signing_secret != created.signing_secret

    deleted = webhooks.delete(created.id)
    assert (deleted.id, deleted.type) == (created.id, "webhook_endpoint_deleted")
    with pytest.raises(anthropic.NotFoundError):
        webhooks.retrieve(created.id)


def test_reverie_event_types_are_accepted_by_the_default_client(make_server, receiver) -> None:
    server = make_server(ALLOW)
    webhooks = lenient(server).beta.organization.webhooks
    endpoint = webhooks.create(url=receiver.url, enabled_events=["session.idled", "dream.completed", "agent.created"])
    assert endpoint.enabled_events == ["session.idled", "dream.completed", "agent.created"]
    assert webhooks.retrieve(endpoint.id).enabled_events == endpoint.enabled_events
    # The SDK's Literal does not list Reverie's types, so a strict client rejects this response.
    with pytest.raises(anthropic.APIResponseValidationError):
        server.client().beta.organization.webhooks.retrieve(endpoint.id)
    with pytest.raises(anthropic.BadRequestError) as error:
        webhooks.create(url=receiver.url, enabled_events=["session.terminated"])
    assert "enabled_events[0]" in str(error.value)
    with pytest.raises(anthropic.BadRequestError):
        webhooks.create(url=receiver.url, enabled_events=[])


def test_private_receivers_are_refused_by_default(make_server) -> None:
    server = make_server()
    webhooks = server.client().beta.organization.webhooks
    for url, reason in [
        ("http://127.0.0.1:9000/hook", "https://"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.0.0.8/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/hook", "loopback"),
        ("https://localhost/hook", "loopback"),
    ]:
        with pytest.raises(anthropic.BadRequestError) as error:
            webhooks.create(url=url, enabled_events=["external_key.failed"])
        assert reason in str(error.value), url
    assert webhooks.create(url="https://93.184.216.34/hook", enabled_events=["external_key.failed"]).state == "enabled"


# -- delivery ----------------------------------------------------------------------------------


def test_receiver_verifies_the_api_resource_events(make_server, receiver) -> None:
    server = make_server(ALLOW)
    client = lenient(server)
    endpoint = client.beta.organization.webhooks.create(
        url=receiver.url, enabled_events=SESSION_EVENTS + ["agent.created", "environment.created", "memory_store.created"] + DREAM_EVENTS
    )
    session_id = make_session(client)
    client.beta.sessions.update(session_id, title="renamed")
    client.beta.sessions.archive(session_id)
    client.beta.sessions.delete(session_id)
    store = client.beta.memory_stores.create(name="notes")

    expected = [
        "agent.created", "environment.created", "session.created", "session.updated", "session.archived", "session.deleted",
        "memory_store.created",
    ]
    requests = receiver.wait_for(lambda r: len(r) >= len(expected))
    time.sleep(0.3)
    assert sorted(receiver.types()) == sorted(expected)  # each exactly once

    keyed = anthropic.Anthropic(base_url=server.base_url, api_key=server.api_key, webhook_key=endpoint.signing_secret)
    for headers, body in requests:
        event = verify(client, endpoint.signing_secret, headers, body)
        assert keyed.beta.webhooks.unwrap(body, headers=headers).id == event.id  # the key from the client (ANTHROPIC_WEBHOOK_SIGNING_KEY)
        assert event.type == "event"
        assert event.id == headers["webhook-id"] and event.id.startswith("wevt_")
        assert event.data.type in expected
        if event.data.type.startswith("session."):
            assert event.data.id == session_id
        if event.data.type == "memory_store.created":
            assert event.data.id == store.id
        assert event.created_at.tzinfo is not None

    headers, body = requests[0]
    with pytest.raises(Exception):
        client.beta.webhooks.unwrap(body.replace("event", "evenT"), headers=headers, key=endpoint.signing_secret)
    rotated = client.beta.organization.webhooks.regenerate_signing_secret(endpoint.id).signing_secret
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(rotated).verify(body, headers)

    deliveries = get(server, f"/v1/organizations/webhooks/{endpoint.id}/deliveries?limit=100")
    assert {d["state"] for d in deliveries["data"]} == {"succeeded"}
    attempts = get(server, f"/v1/organizations/webhooks/{endpoint.id}/deliveries/{deliveries['data'][0]['id']}/attempts")
    assert attempts["data"][0]["status_code"] == 200 and attempts["data"][0]["succeeded"] is True


def test_receiver_sees_every_event_of_a_running_sessions_life(make_server, receiver, mock_llm) -> None:
    """The agent runtime runs a session with an outcome against the mock model: the receiver
    sees it created, running, graded, idle, archived and deleted, each signed, each once."""
    server = make_server(ALLOW, runtime=True, env=runtime_env(mock_llm({})))
    client = lenient(server)
    endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=SESSION_EVENTS)
    outcome = {
        "type": "user.define_outcome", "description": "Say hello.",
        "rubric": {"type": "text", "content": "- Greets the user"}, "max_iterations": 1,
    }
    session_id = make_session(client, initial_events=[outcome])
    wait_until(
        lambda: (s := client.beta.sessions.retrieve(session_id)).status == "idle" and s.outcome_evaluations,
        what="the session to finish its outcome",
    )
    receiver.wait_for(lambda r: "session.idled" in [json.loads(b)["data"]["type"] for _, b in r])
    client.beta.sessions.archive(session_id)
    client.beta.sessions.delete(session_id)

    expected = ["session.created", "session.running", "session.outcome_evaluation_ended", "session.idled", "session.archived", "session.deleted"]
    requests = receiver.wait_for(lambda r: len(r) >= len(expected))
    time.sleep(0.3)
    assert sorted(receiver.types()) == sorted(expected)
    assert len({headers["webhook-id"] for headers, _ in requests}) == len(expected)
    events = [verify(client, endpoint.signing_secret, headers, body) for headers, body in requests]
    assert all(event.data.id == session_id for event in events)
    # Within the session's life, notices are created in the order things happened.
    by_time = [event.data.type for event in sorted(events, key=lambda e: (e.created_at, e.id))]
    assert by_time.index("session.running") < by_time.index("session.outcome_evaluation_ended") < by_time.index("session.idled")


def test_receiver_sees_every_event_of_a_dreams_life(make_server, receiver, mock_llm) -> None:
    """Dreams run by the dream runner against the mock model: one completes, one is canceled
    while running, one fails (its model server is gone). Each status change arrives once."""
    mock = mock_llm(dreamer_scenario())
    server = make_server(ALLOW, runtime=True, env=runtime_env(mock))
    client = lenient(server)
    endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=DREAM_EVENTS)
    store = client.beta.memory_stores.create(name="team")
    session_id = make_session(client)
    client.beta.sessions.events.send(session_id, events=[{"type": "user.message", "content": [{"type": "text", "text": "hi"}]}])
    wait_until(lambda: client.beta.sessions.retrieve(session_id).status == "idle", what="the session to answer")
    inputs = [{"type": "memory_store", "memory_store_id": store.id}, {"type": "sessions", "session_ids": [session_id]}]

    def dream_reaching(status: str) -> str:
        dream = client.beta.dreams.create(inputs=inputs, model="claude-dreamer")
        wait_until(lambda: client.beta.dreams.retrieve(dream.id).status == status, what=f"dream {status}")
        return dream.id

    completed = dream_reaching("completed")
    mock.set_scenario(dreamer_scenario(latency_ms=20_000))
    canceled = dream_reaching("running")
    client.beta.dreams.cancel(canceled)
    mock.close()
    failed = dream_reaching("failed")

    requests = receiver.wait_for(lambda r: len(r) >= 9)
    time.sleep(0.3)
    assert len(receiver.requests) == 9
    events = [verify(client, endpoint.signing_secret, headers, body) for headers, body in requests]
    assert len({event.id for event in events}) == 9
    for dream_id, last in [(completed, "dream.completed"), (canceled, "dream.canceled"), (failed, "dream.failed")]:
        mine = sorted((e for e in events if e.data.id == dream_id), key=lambda e: (e.created_at, e.id))
        assert [e.data.type for e in mine] == ["dream.created", "dream.running", last], dream_id


def test_kill_9_after_a_session_finished_loses_nothing(make_server, receiver, mock_llm, tmp_path) -> None:
    """A session runs to idle on a server that does not deliver; the server is killed with
    SIGKILL before any delivery; a new server on the same data delivers every event."""
    data_dir = tmp_path / "killed"
    first = make_server(ALLOW, "--no-webhook-delivery", data_dir=data_dir, runtime=True, env=runtime_env(mock_llm({})))
    client = lenient(first)
    endpoint = client.beta.organization.webhooks.create(
        url=receiver.url, enabled_events=["session.created", "session.running", "session.idled"]
    )
    session_id = make_session(client)
    client.beta.sessions.events.send(session_id, events=[{"type": "user.message", "content": [{"type": "text", "text": "hi"}]}])
    wait_until(
        lambda: any(e.type == "session.status_idle" for e in client.beta.sessions.events.list(session_id)),
        what="the session to go idle",
    )
    assert get(first, f"/v1/organizations/webhooks/{endpoint.id}/deliveries")["data"] == []
    first.kill()
    assert receiver.types() == []

    second = make_server(ALLOW, data_dir=data_dir)
    requests = receiver.wait_for(lambda r: len(r) >= 3)
    time.sleep(0.3)
    assert sorted(receiver.types()) == ["session.created", "session.idled", "session.running"]
    for headers, body in requests:
        event = verify(lenient(second), endpoint.signing_secret, headers, body)
        assert event.data.id == session_id


def test_kill_9_during_delivery_redelivers_the_same_event(make_server, tmp_path) -> None:
    receiver = Receiver()
    receiver.hold = threading.Event()
    try:
        data_dir = tmp_path / "mid-send"
        args = (ALLOW, "--webhooks-timeout-seconds", "2")
        first = make_server(*args, data_dir=data_dir)
        client = lenient(first)
        endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=["session.created"])
        make_session(client)
        receiver.wait_for(lambda r: len(r) >= 1)  # the first attempt is in flight, held by the receiver
        first.kill()
        receiver.hold.set()
        receiver.hold = None

        second = make_server(*args, data_dir=data_dir)
        # The dead process's claim on the delivery lapses (2 × timeout + 5 s), then it is sent again.
        requests = receiver.wait_for(lambda r: len(r) >= 2, timeout=40)
        (first_headers, first_body), (headers, body) = requests[0], requests[1]
        assert headers["webhook-id"] == first_headers["webhook-id"]
        assert body == first_body
        verify(lenient(second), endpoint.signing_secret, headers, body)
        deliveries = wait_until(
            lambda: [d for d in get(second, f"/v1/organizations/webhooks/{endpoint.id}/deliveries")["data"] if d["state"] == "succeeded"],
            timeout=10, what="the delivery to succeed",
        )
        assert len(deliveries) == 1
    finally:
        receiver.close()


def test_failing_receiver_gets_the_event_once_as_a_success_and_resend_works(make_server) -> None:
    """Fails 3 times, then succeeds: 4 attempts with one `webhook-id`, one success, logged;
    a re-send by hand delivers the same event again."""
    receiver = Receiver(respond=lambda n: 500 if n < 3 else 200)
    try:
        server = make_server(ALLOW, "--webhooks-retry-base-seconds", "0.05")
        client = lenient(server)
        endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=["agent.created"])
        client.beta.agents.create(name="retried", model="mock-model")
        requests = receiver.wait_for(lambda r: len(r) >= 4)
        time.sleep(0.5)
        assert len(receiver.requests) == 4
        assert len({headers["webhook-id"] for headers, _ in requests}) == 1
        assert len({body for _, body in requests}) == 1
        for headers, body in requests:
            verify(client, endpoint.signing_secret, headers, body)

        [delivery] = get(server, f"/v1/organizations/webhooks/{endpoint.id}/deliveries")["data"]
        assert (delivery["state"], delivery["attempts"], delivery["last_status_code"]) == ("succeeded", 4, 200)
        attempts = get(server, f"/v1/organizations/webhooks/{endpoint.id}/deliveries/{delivery['id']}/attempts")["data"]
        assert [a["status_code"] for a in attempts] == [500, 500, 500, 200]
        assert [a["succeeded"] for a in attempts] == [False, False, False, True]

        resent = httpx.post(
            f"{server.base_url}/v1/organizations/webhooks/{endpoint.id}/deliveries/{delivery['id']}/resend",
            headers={"x-api-key": server.api_key}, timeout=10,
        )
        assert resent.status_code == 200 and resent.json()["state"] == "pending"
        again = receiver.wait_for(lambda r: len(r) >= 5)
        assert again[4][0]["webhook-id"] == requests[0][0]["webhook-id"]
    finally:
        receiver.close()


def test_always_failing_receiver_is_disabled_after_20_failures(make_server) -> None:
    receiver = Receiver(respond=lambda n: 503)
    try:
        server = make_server(ALLOW, "--webhooks-retry-base-seconds", "0.02", "--webhooks-retry-max-seconds", "0.1")
        client = lenient(server)
        endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=["agent.created"])
        for index in range(3):
            client.beta.agents.create(name=f"failing-{index}", model="mock-model")
        disabled = wait_until(
            lambda: (e := client.beta.organization.webhooks.retrieve(endpoint.id)).state == "disabled" and e,
            what="the endpoint to be disabled",
        )
        assert "20 consecutive failed delivery attempts" in disabled.disabled_reason
        assert "HTTP 503" in disabled.disabled_reason
        time.sleep(0.5)
        assert len(receiver.requests) == 20
        deliveries = get(server, f"/v1/organizations/webhooks/{endpoint.id}/deliveries")["data"]
        assert len(deliveries) == 3 and {d["state"] for d in deliveries} == {"failed"}
        assert sum(d["attempts"] for d in deliveries) == 20
        enabled = client.beta.organization.webhooks.update(endpoint.id, state="enabled")
        assert (enabled.state, enabled.disabled_reason) == ("enabled", "")
    finally:
        receiver.close()
