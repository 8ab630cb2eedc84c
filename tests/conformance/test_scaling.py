"""Several `reverie serve` processes on one PostgreSQL database (docs/scaling.md).

Three processes share a database. A session is started through one of them and streamed
through another; the process running the turn is killed with SIGKILL while its model call is
in flight; another process takes the session over and completes the turn, and the stream
sees every event once, in order. A dream runs once and its webhook is delivered once, to a
receiver of this test's own, though every process looks for dreams and deliveries to claim.

Runs only when the suite runs on PostgreSQL (`REVERIE_TEST_DATABASE_URL`, as scripts/test
does the second time).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anthropic
import pytest

from conftest import ReverieServer, database_schema
from support import StreamReader, make_agent, make_environment, user_message

pytestmark = pytest.mark.skipif(
    not os.environ.get("REVERIE_TEST_DATABASE_URL"), reason="runs on PostgreSQL only (set REVERIE_TEST_DATABASE_URL)"
)

# Seconds; takeover happens within about LEASE_TTL + 1. The benchmark in docs/PERFORMANCE.md
# runs this test with REVERIE_SCALING_LEASE_TTL=6 (the default of `reverie serve`).
LEASE_TTL = int(os.environ.get("REVERIE_SCALING_LEASE_TTL", "3"))

DREAM_EXTRACT = {"candidates": [{"kind": "workflow", "text": "Finish long tasks.", "evidence": [{"session": "S1", "events": ["e1"]}]}]}
DREAM_CURATE = {"operations": [{"op": "add", "path": "/lessons/long.md", "content": "Finish long tasks.", "rationale": "asked for",
                                "evidence": [{"session": "S1", "events": ["e1"]}]}]}

SCENARIO = {
    "rules": [
        {"name": "extract", "system_contains": "propose lessons", "reply": json.dumps(DREAM_EXTRACT)},
        {"name": "curate", "system_contains": "You maintain a memory store", "reply": json.dumps(DREAM_CURATE)},
        # The turn's first model call is held for good: the kill lands while it is in flight.
        {"name": "held", "last_user_contains": "long task", "hold": "never", "times": 1, "reply": "too late"},
        {"name": "resumed", "last_user_contains": "long task", "reply": "finished the long task"},
    ],
    "fallback": {"reply": "ok"},
}


class Receiver:
    """A webhook receiver on loopback that records every POST body."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.bodies.append(json.loads(body))
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def deliveries(self, event_type: str, resource_id: str) -> list[dict]:
        with self.lock:
            return [b for b in self.bodies if b.get("data", {}).get("type") == event_type and b.get("data", {}).get("id") == resource_id]

    def close(self) -> None:
        self.server.shutdown()


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def lease_owner(key: Path, lease: str) -> str:
    """The process holding `lease`, read from the database."""
    url = os.environ["REVERIE_TEST_DATABASE_URL"]
    result = subprocess.run(
        ["psql", url, "-Atc", f"SELECT owner FROM {database_schema(key)}.leases WHERE key = '{lease}'"],
        capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def process_id(server: ReverieServer) -> str:
    """The id the server announced in its log (`sharing the database as process …`)."""
    marker = "sharing the database as process "
    for line in server.log_path.read_text(encoding="utf-8").splitlines():
        if marker in line:
            return line.split(marker, 1)[1].split()[0].strip("\"'")
    raise AssertionError(f"no process id in {server.log_path}")


def message_text(event) -> str:
    return "".join(block.text for block in getattr(event, "content", []) if getattr(block, "type", "") == "text")


def test_three_processes_share_one_database(tmp_path: Path, mock_llm) -> None:
    mock = mock_llm(SCENARIO)
    receiver = Receiver()
    key = tmp_path / "shared-database"
    args = ("--webhooks-allow-private", "--lease-ttl", str(LEASE_TTL))
    env = {"ANTHROPIC_BASE_URL": mock.url}
    servers: list[ReverieServer] = []
    streams: list[StreamReader] = []
    try:
        # Each process has a data directory of its own (so the one taking over finds no
        # workspace); they share the database and the secrets keyring.
        first = ReverieServer(tmp_path / "a", extra_args=args, env=env, runtime=True, database_key=key).start()
        servers.append(first)
        for name in ("b", "c"):
            (tmp_path / name).mkdir()
            shutil.copy(tmp_path / "a" / "secrets.keyring", tmp_path / name / "secrets.keyring")
            servers.append(ReverieServer(tmp_path / name, extra_args=args, env=env, runtime=True, database_key=key).start())
        a, b, c = servers
        ids = {process_id(server): server for server in servers}
        assert len(ids) == 3

        client_a = a.client()
        # Reverie's event types are not in the SDK's Literal: a lenient client creates the endpoint.
        lenient = anthropic.Anthropic(base_url=a.base_url, api_key=a.api_key, max_retries=0, timeout=15.0)
        lenient.beta.organization.webhooks.create(url=receiver.url, enabled_events=["dream.completed"])
        agent = make_agent(client_a, name="worker", system="You work.")
        session = client_a.beta.sessions.create(agent=agent.id, environment_id=make_environment(client_a).id)
        # Streams through the other two processes, opened before anything happens.
        streams = [StreamReader(b.client(), session.id), StreamReader(c.client(), session.id)]

        client_a.beta.sessions.events.send(session.id, events=[user_message("Please do the long task.")])
        wait_until(lambda: mock.held("never") == 1, 30, "the turn's model call")
        owner = ids[lease_owner(key, f"session:{session.id}")]

        owner.kill()
        killed = time.monotonic()
        survivors = [server for server in servers if server is not owner]
        wait_until(lambda: any(r["rule"] == "resumed" for r in mock.requests()), 30, "another process to resume the turn")
        takeover = time.monotonic() - killed
        print(f"\ntakeover after SIGKILL (lease TTL {LEASE_TTL} s): {takeover:.2f} s to the resumed model call")
        assert takeover <= 10, f"takeover took {takeover:.1f}s"
        client = survivors[0].client()

        def finished() -> bool:
            events = client.beta.sessions.events.list(session.id, limit=1000).data
            return any(e.type == "agent.message" and message_text(e) == "finished the long task" for e in events) \
                and client.beta.sessions.retrieve(session.id).status == "idle"

        wait_until(finished, 60, "the turn to finish on another process")
        events = client.beta.sessions.events.list(session.id, limit=1000).data
        event_ids = [e.id for e in events]
        assert len(event_ids) == len(set(event_ids)), "an event is stored twice"
        types = [e.type for e in events]
        assert types.count("user.message") == 1
        assert [m for m in (message_text(e) for e in events if e.type == "agent.message")] == ["finished the long task"]
        # The new owner did not have the session's workspace, and said so.
        assert any(e.type == "session.error" and "Workspace missing" in e.error.message for e in events), [(e.type, getattr(getattr(e, "error", None), "message", None)) for e in events]
        assert [r["rule"] for r in mock.requests()].count("resumed") == 1

        # A surviving process's stream saw every event appended after it opened, once, in order,
        # whichever process appended it.
        stream = next(s for s, server in zip(streams, (b, c)) if server is not owner)
        streamed = []
        while not streamed or streamed[-1].type != "session.status_idle":
            streamed.append(stream.next(timeout=30))
        streamed_ids = [e.id for e in streamed]
        start = event_ids.index(streamed_ids[0])
        assert streamed_ids == event_ids[start:start + len(streamed_ids)]
        assert streamed_ids[-1] == event_ids[-1]
        assert "user.message" in [e.type for e in streamed]

        # A dream created through one survivor runs once, though every process looks for dreams.
        other = survivors[1].client()
        store = other.beta.memory_stores.create(name="team")
        dream = other.beta.dreams.create(
            inputs=[{"type": "memory_store", "memory_store_id": store.id}, {"type": "sessions", "session_ids": [session.id]}],
            model="claude-dreamer",
        )
        wait_until(lambda: client.beta.dreams.retrieve(dream.id).status in ("completed", "failed", "canceled"), 60, "the dream")
        done = client.beta.dreams.retrieve(dream.id)
        assert done.status == "completed", done.error
        assert [r["rule"] for r in mock.requests()].count("curate") == 1
        # Its webhook is delivered once, though every process delivers webhooks.
        wait_until(lambda: len(receiver.deliveries("dream.completed", dream.id)) >= 1, 30, "the dream.completed webhook")
        time.sleep(2 * LEASE_TTL)
        assert len(receiver.deliveries("dream.completed", dream.id)) == 1
    finally:
        for stream in streams:
            stream.close()
        for server in servers:
            server.close()
        receiver.close()
