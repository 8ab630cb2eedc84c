"""Webhooks through the official SDK against a live `reverie serve`.

* Endpoint management with `client.beta.organization.webhooks` (create, retrieve, update,
  list with `SyncPage` paging, delete, regenerate_signing_secret).
* A receiver on loopback that verifies every delivery with the SDK's
  `client.beta.webhooks.unwrap(...)` and with the `standardwebhooks` package.
* Delivery after `kill -9`: before the server delivered, and while it was delivering.

About `enabled_events` and strict validation: the SDK types `enabled_events` as a Literal of
the five organization-level types only (`external_key.*`, `user_profile.*`). Reverie accepts
those (and never sends them) plus its own types (`session.*`, `agent.*`, `dream.*`, ...).
A response listing Reverie's types therefore fails `_strict_response_validation=True`; the
SDK's default (non-strict) client reads it fine. So: CRUD shape is checked with a strict
client on organization-level types, and Reverie's types are used with the default client.

Fixtures live in this file. The server binary is `$REVERIE_BIN`, else `.build/debug/reverie`.
Requires the `standardwebhooks` package (`pip install anthropic[webhooks]`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable, Iterator, Optional

import anthropic
import httpx
import pytest
import standardwebhooks

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "rv-webhooks-test-key"
LISTENING = re.compile(r"reverie listening on (http://127\.0\.0\.1:(\d+))")
ORG_EVENTS = ["external_key.failed", "external_key.recovered"]
SESSION_EVENTS = [
    "session.created", "session.updated", "session.running", "session.idled", "session.requires_action",
    "session.status_rescheduled", "session.status_terminated", "session.archived", "session.deleted",
    "session.outcome_evaluation_ended", "session.thread_created", "session.thread_idled", "session.thread_terminated",
]
DREAM_EVENTS = ["dream.created", "dream.running", "dream.completed", "dream.failed", "dream.canceled"]


# -- the server --------------------------------------------------------------------------------


def reverie_binary() -> Path:
    configured = os.environ.get("REVERIE_BIN")
    path = Path(configured) if configured else REPO_ROOT / ".build" / "debug" / "reverie"
    if not path.is_file():
        pytest.fail(f"reverie binary not found at {path}: run `swift build --product reverie` or set REVERIE_BIN", pytrace=False)
    return path


class WebhookServer:
    """A `reverie serve` process on a free loopback port over `data_dir`."""

    def __init__(self, data_dir: Path, args: tuple[str, ...]) -> None:
        self.data_dir = data_dir
        self.args = args
        self.process: Optional[subprocess.Popen[str]] = None
        self.base_url = ""
        self.log_path = data_dir.parent / f"{data_dir.name}.log"

    def start(self, *args: str) -> "WebhookServer":
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REVERIE_", "ANTHROPIC_"))}
        env["REVERIE_API_KEY"] = API_KEY
        command = [str(reverie_binary()), "serve", "--port", "0", "--data-dir", str(self.data_dir), *(args or self.args)]
        log = open(self.log_path, "a", encoding="utf-8")
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True)
        log.close()
        found = threading.Event()
        process = self.process

        def pump() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                match = LISTENING.search(line)
                if match and not found.is_set():
                    self.base_url = match.group(1)
                    found.set()

        threading.Thread(target=pump, daemon=True).start()
        if not found.wait(60):
            self.kill9()
            pytest.fail(f"server did not start; log:\n{self.log_path.read_text()[-3000:]}")
        return self

    def kill9(self) -> None:
        if self.process and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill9()

    def client(self, *, strict: bool = False, **options) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            base_url=self.base_url, api_key=API_KEY, max_retries=0, _strict_response_validation=strict, **options
        )

    def get(self, path: str) -> dict:
        response = httpx.get(self.base_url + path, headers={"x-api-key": API_KEY}, timeout=10)
        response.raise_for_status()
        return response.json()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., WebhookServer]]:
    servers: list[WebhookServer] = []

    def factory(*args: str, data_dir: Optional[Path] = None) -> WebhookServer:
        server = WebhookServer(data_dir or tmp_path / f"data{len(servers)}", args)
        servers.append(server)
        return server.start()

    yield factory
    for server in servers:
        server.stop()


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


def verify(client: anthropic.Anthropic, secret: str, headers: dict[str, str], body: str):
    """Verifies one delivery both ways; returns the SDK's parsed event."""
    event = client.beta.webhooks.unwrap(body, headers=headers, key=secret)
    assert standardwebhooks.Webhook(secret).verify(body, headers) == json.loads(body)
    return event


def make_session(client: anthropic.Anthropic) -> str:
    agent = client.beta.agents.create(name="webhook-tester", model="mock-model")
    environment = client.beta.environments.create(name="webhook-env")
    return client.beta.sessions.create(agent=agent.id, environment_id=environment.id).id


# -- endpoint management -----------------------------------------------------------------------


def test_endpoint_management_matches_the_sdk(make_server, receiver) -> None:
    server = make_server("--webhooks-allow-private")
    client = server.client(strict=True)
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

    rotated = webhooks.regenerate_signing_secret(created.id)
    assert rotated.signing_secret.startswith("whsec_") and rotated.signing_secret != created.signing_secret

    deleted = webhooks.delete(created.id)
    assert (deleted.id, deleted.type) == (created.id, "webhook_endpoint_deleted")
    with pytest.raises(anthropic.NotFoundError):
        webhooks.retrieve(created.id)


def test_reverie_event_types_are_accepted_by_the_default_client(make_server, receiver) -> None:
    server = make_server("--webhooks-allow-private")
    webhooks = server.client().beta.organization.webhooks
    endpoint = webhooks.create(url=receiver.url, enabled_events=["session.idled", "dream.completed", "agent.created"])
    assert endpoint.enabled_events == ["session.idled", "dream.completed", "agent.created"]
    assert webhooks.retrieve(endpoint.id).enabled_events == endpoint.enabled_events
    # The SDK's Literal does not list Reverie's types, so a strict client rejects this response.
    with pytest.raises(anthropic.APIResponseValidationError):
        server.client(strict=True).beta.organization.webhooks.retrieve(endpoint.id)
    with pytest.raises(anthropic.BadRequestError) as error:
        webhooks.create(url=receiver.url, enabled_events=["session.terminated"])
    assert "enabled_events[0]" in str(error.value)
    with pytest.raises(anthropic.BadRequestError):
        webhooks.create(url=receiver.url, enabled_events=[])


def test_private_receivers_are_refused_by_default(make_server) -> None:
    server = make_server()
    webhooks = server.client(strict=True).beta.organization.webhooks
    for url, reason in [
        ("http://127.0.0.1:9000/hook", "https://"),
        ("https://127.0.0.1/hook", "loopback"),
        ("https://10.0.0.8/hook", "private"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
        ("https://[::1]/hook", "loopback"),
    ]:
        with pytest.raises(anthropic.BadRequestError) as error:
            webhooks.create(url=url, enabled_events=["external_key.failed"])
        assert reason in str(error.value), url
    assert webhooks.create(url="https://93.184.216.34/hook", enabled_events=["external_key.failed"]).state == "enabled"


# -- delivery ----------------------------------------------------------------------------------


def test_receiver_verifies_every_event_of_a_sessions_life(make_server, receiver) -> None:
    server = make_server("--webhooks-allow-private")
    client = server.client()
    endpoint = client.beta.organization.webhooks.create(
        url=receiver.url, enabled_events=SESSION_EVENTS + ["agent.created", "environment.created"] + DREAM_EVENTS
    )
    session_id = make_session(client)
    client.beta.sessions.update(session_id, title="renamed")
    client.beta.sessions.archive(session_id)
    client.beta.sessions.delete(session_id)

    expected = ["agent.created", "environment.created", "session.created", "session.updated", "session.archived", "session.deleted"]
    requests = receiver.wait_for(lambda r: len(r) >= len(expected))
    time.sleep(0.3)
    assert sorted(receiver.types()) == sorted(expected)  # each exactly once

    keyed = anthropic.Anthropic(base_url=server.base_url, api_key=API_KEY, webhook_key=endpoint.signing_secret)
    for headers, body in requests:
        event = verify(client, endpoint.signing_secret, headers, body)
        assert keyed.beta.webhooks.unwrap(body, headers=headers).id == event.id  # the key from the client (ANTHROPIC_WEBHOOK_SIGNING_KEY)
        assert event.type == "event"
        assert event.id == headers["webhook-id"] and event.id.startswith("wevt_")
        assert event.data.type in expected
        if event.data.type.startswith("session."):
            assert event.data.id == session_id
        assert event.created_at.tzinfo is not None

    headers, body = requests[0]
    with pytest.raises(Exception):
        client.beta.webhooks.unwrap(body.replace("event", "evenT"), headers=headers, key=endpoint.signing_secret)
    rotated = client.beta.organization.webhooks.regenerate_signing_secret(endpoint.id).signing_secret
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(rotated).verify(body, headers)

    deliveries = server.get(f"/v1/organizations/webhooks/{endpoint.id}/deliveries?limit=100")
    assert {d["state"] for d in deliveries["data"]} == {"succeeded"}
    attempts = server.get(f"/v1/organizations/webhooks/{endpoint.id}/deliveries/{deliveries['data'][0]['id']}/attempts")
    assert attempts["data"][0]["status_code"] == 200 and attempts["data"][0]["succeeded"] is True


def test_kill_9_before_delivery_loses_nothing(make_server, receiver, tmp_path) -> None:
    data_dir = tmp_path / "killed"
    first = make_server("--webhooks-allow-private", "--no-webhook-delivery", data_dir=data_dir)
    client = first.client()
    endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=["session.created", "session.archived"])
    session_id = make_session(client)
    client.beta.sessions.archive(session_id)
    assert first.get(f"/v1/organizations/webhooks/{endpoint.id}/deliveries")["data"] == []
    first.kill9()
    assert receiver.types() == []

    second = make_server("--webhooks-allow-private", data_dir=data_dir)
    requests = receiver.wait_for(lambda r: len(r) >= 2)
    time.sleep(0.3)
    assert sorted(receiver.types()) == ["session.archived", "session.created"]
    for headers, body in requests:
        event = verify(second.client(), endpoint.signing_secret, headers, body)
        assert event.data.id == session_id


def test_kill_9_during_delivery_redelivers_the_same_event(make_server, tmp_path) -> None:
    receiver = Receiver()
    receiver.hold = threading.Event()
    try:
        data_dir = tmp_path / "mid-send"
        args = ("--webhooks-allow-private", "--webhooks-timeout-seconds", "2")
        first = make_server(*args, data_dir=data_dir)
        client = first.client()
        endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=["session.created"])
        make_session(client)
        receiver.wait_for(lambda r: len(r) >= 1)  # the first attempt is in flight, held by the receiver
        first.kill9()
        receiver.hold.set()
        receiver.hold = None

        second = make_server(*args, data_dir=data_dir)
        # The dead process's claim on the delivery lapses (2 × timeout + 5 s), then it is sent again.
        requests = receiver.wait_for(lambda r: len(r) >= 2, timeout=40)
        (first_headers, first_body), (headers, body) = requests[0], requests[1]
        assert headers["webhook-id"] == first_headers["webhook-id"]
        assert body == first_body
        verify(second.client(), endpoint.signing_secret, headers, body)
        deadline = time.monotonic() + 10
        while True:
            deliveries = second.get(f"/v1/organizations/webhooks/{endpoint.id}/deliveries")["data"]
            if deliveries and deliveries[0]["state"] == "succeeded" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert deliveries[0]["state"] == "succeeded"
    finally:
        receiver.close()
