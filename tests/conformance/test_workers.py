"""Self-hosted environments through the official SDK: the SDK's own `EnvironmentWorker` (and
`tool_runner`) serve a Reverie session's built-in tool calls from the environment's work
queue; environment keys reach their own environment and nothing else."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import tarfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import anthropic
import httpx
import pytest
from anthropic.lib.tools.agent_toolset import AgentToolContext, beta_agent_toolset_20260401

from support import TOOLSET, make_agent, user_message, wait_for

ALL_TOOLS_TURN = {
    "rules": [
        {"name": "finish", "last_user_contains": "counted", "reply": "All six tools worked."},
        {"name": "after grep", "last_user_regex": "2:gamma", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "wc -l < notes.txt; echo counted"}}]},
        {"name": "after glob", "last_user_regex": "/notes\\.txt", "reply": [{"type": "tool_use", "name": "grep", "input": {"pattern": "gamma"}}]},
        {"name": "after edit", "last_user_contains": "edited notes.txt", "reply": [{"type": "tool_use", "name": "glob", "input": {"pattern": "*.txt"}}]},
        {"name": "after read", "last_user_regex": "^alpha\\nbeta", "reply": [{"type": "tool_use", "name": "edit", "input": {"file_path": "notes.txt", "old_string": "beta", "new_string": "gamma"}}]},
        {"name": "after write", "last_user_contains": "wrote 11 bytes to notes.txt", "reply": [{"type": "tool_use", "name": "read", "input": {"file_path": "notes.txt"}}]},
        {"name": "start", "last_user_contains": "use the tools", "reply": [
            {"type": "text", "text": "Writing notes."},
            {"type": "tool_use", "name": "write", "input": {"file_path": "notes.txt", "content": "alpha\nbeta\n"}},
        ]},
    ]
}

ASK_TURN = {
    "rules": [
        {"name": "finish", "last_user_contains": "asked-ok", "reply": "Done after asking."},
        {"name": "start", "last_user_contains": "run it", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "echo asked-ok"}}]},
    ]
}


def create_key(server, environment_id: str, name: str = "worker") -> dict:
    """`POST /v1/environments/{id}/keys` (a Reverie extension, so plain HTTP)."""
    response = httpx.post(
        f"{server.base_url}/v1/environments/{environment_id}/keys", json={"name": name}, headers={"x-api-key": server.api_key}, timeout=10
    )
    assert response.status_code == 200, response.text
    return response.json()


def self_hosted_session(client: anthropic.Anthropic, tools: Optional[list] = None):
    environment = client.beta.environments.create(name="workers", config={"type": "self_hosted"})
    agent = make_agent(client, tools=tools or TOOLSET)
    session = client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    return environment, session


class BackgroundLoop:
    """Runs a coroutine on its own event loop thread; `stop()` cancels it and waits."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self.loop = asyncio.new_event_loop()
        self.task: Optional[asyncio.Task] = None
        self.error: Optional[BaseException] = None
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.task = self.loop.create_task(make())
            started.set()
            try:
                self.loop.run_until_complete(self.task)
            except asyncio.CancelledError:
                pass
            except BaseException as error:  # surfaced by the test's assertions
                self.error = error
            finally:
                self.loop.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        started.wait(5)

    def stop(self) -> None:
        if self.task is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(15)


def run_worker(server, environment_id: str, key: str, workdir: Path) -> BackgroundLoop:
    workdir.mkdir(parents=True, exist_ok=True)

    async def main() -> None:
        client = anthropic.AsyncAnthropic(base_url=server.base_url, api_key="not-used-by-the-worker", max_retries=2)
        worker = client.beta.environments.work.worker(
            environment_id=environment_id, environment_key=key, workdir=str(workdir), max_idle=1.0)
        await worker.run()

    return BackgroundLoop(main)


def turn_ended(events: list) -> bool:
    return any(event.type == "session.status_idle" and event.stop_reason.type == "end_turn" for event in events)


def test_environment_worker_serves_every_file_tool_and_the_turn_completes(make_server, mock_llm, tmp_path: Path) -> None:
    mock = mock_llm(ALL_TOOLS_TURN)
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    environment, session = self_hosted_session(client)
    key = create_key(server, environment.id)
    assert key["key"].startswith("rvek_") and key["environment_id"] == environment.id
    worker = run_worker(server, environment.id, key["key"], tmp_path / "workdir")
    try:
        client.beta.sessions.events.send(session.id, events=[user_message("Please use the tools.")])
        events = wait_for(client, session.id, turn_ended, timeout=60)
    finally:
        worker.stop()
    assert worker.error is None, worker.error
    uses = [event for event in events if event.type == "agent.tool_use"]
    results = [event for event in events if event.type == "user.tool_result"]
    assert [use.name for use in uses] == ["write", "read", "edit", "glob", "grep", "bash"]
    assert all(use.evaluated_permission == "allow" for use in uses)
    # The server ran none of them: every answer is the worker's.
    assert not [event for event in events if event.type == "agent.tool_result"]
    assert [result.tool_use_id for result in results] == [use.id for use in uses]
    assert all(not result.is_error for result in results), [result.content for result in results]
    assert (tmp_path / "workdir" / "notes.txt").read_text() == "alpha\ngamma\n"
    assert [event for event in events if event.type == "agent.message"][-1].content[0].text == "All six tools worked."
    # The session never went idle waiting: it stayed running while the worker served it.
    idles = [event for event in events if event.type == "session.status_idle"]
    assert [idle.stop_reason.type for idle in idles] == ["end_turn"]
    # The worker stopped its item when it was done.
    items = httpx.get(f"{server.base_url}/v1/environments/{environment.id}/work", headers={"authorization": f"Bearer {key['key']}"}).json()["data"]
    assert items and all(item["state"] == "stopped" for item in items)
    assert all(item["data"] == {"type": "session", "id": session.id} for item in items)


def test_always_ask_waits_for_the_confirmation_before_the_worker_runs_it(make_server, mock_llm, tmp_path: Path) -> None:
    mock = mock_llm(ASK_TURN)
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    tools = [{"type": "agent_toolset_20260401", "configs": [{"name": "bash", "permission_policy": {"type": "always_ask"}}]}]
    environment, session = self_hosted_session(client, tools)
    key = create_key(server, environment.id)["key"]
    worker = run_worker(server, environment.id, key, tmp_path / "workdir")
    try:
        client.beta.sessions.events.send(session.id, events=[user_message("Please run it.")])
        events = wait_for(client, session.id, lambda events: any(
            event.type == "session.status_idle" and event.stop_reason.type == "requires_action" for event in events))
        use = next(event for event in events if event.type == "agent.tool_use")
        assert use.evaluated_permission == "ask"
        time.sleep(2.5)  # the worker has the session by now, and must hold the call
        assert not [event for event in client.beta.sessions.events.list(session.id, limit=1000) if event.type == "user.tool_result"]
        client.beta.sessions.events.send(session.id, events=[{"type": "user.tool_confirmation", "tool_use_id": use.id, "result": "allow"}])
        events = wait_for(client, session.id, turn_ended, timeout=30)
    finally:
        worker.stop()
    types = [event.type for event in events]
    assert types.index("user.tool_confirmation") < types.index("user.tool_result")
    result = next(event for event in events if event.type == "user.tool_result")
    assert result.tool_use_id == use.id and "asked-ok" in result.content[0].text


def test_tool_runner_with_the_clients_own_key_serves_a_session(make_server, mock_llm, tmp_path: Path) -> None:
    mock = mock_llm({"rules": [
        {"name": "finish", "last_user_contains": "wrote 5 bytes", "reply": "Written."},
        {"name": "start", "last_user_contains": "write it", "reply": [{"type": "tool_use", "name": "write", "input": {"file_path": "x.txt", "content": "hello"}}]},
    ]})
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    environment, session = self_hosted_session(client)
    workdir = tmp_path / "runner"
    workdir.mkdir()

    async def main() -> None:
        async_client = anthropic.AsyncAnthropic(base_url=server.base_url, api_key=server.api_key, max_retries=0)
        async with AgentToolContext(workdir=str(workdir)) as context:
            runner = async_client.beta.sessions.events.tool_runner(session.id, tools=beta_agent_toolset_20260401(context), max_idle=1.0)
            await runner.until_done()

    runner = BackgroundLoop(main)
    try:
        time.sleep(0.5)
        client.beta.sessions.events.send(session.id, events=[user_message("Please write it.")])
        events = wait_for(client, session.id, turn_ended, timeout=30)
    finally:
        runner.thread.join(20)
        runner.stop()
    assert runner.error is None, runner.error
    assert (workdir / "x.txt").read_text() == "hello"
    assert [event.type for event in events if event.type in ("agent.tool_use", "user.tool_result")] == ["agent.tool_use", "user.tool_result"]


def test_environment_keys_are_scoped_listed_without_secrets_and_revocable(make_server) -> None:
    server = make_server()
    client = server.client()
    env_a = client.beta.environments.create(name="a", config={"type": "self_hosted"})
    env_b = client.beta.environments.create(name="b", config={"type": "self_hosted"})
    agent = make_agent(client, tools=TOOLSET)
    session_a = client.beta.sessions.create(agent=agent.id, environment_id=env_a.id)
    session_b = client.beta.sessions.create(agent=agent.id, environment_id=env_b.id)
    created = create_key(server, env_a.id, "a-worker")
    key_a = created["key"]

    listed = httpx.get(f"{server.base_url}/v1/environments/{env_a.id}/keys", headers={"x-api-key": server.api_key}).json()["data"]
    assert [key["id"] for key in listed] == [created["id"]]
    assert "key" not in listed[0] and key_a not in str(listed)

    worker_client = anthropic.Anthropic(
        base_url=server.base_url, auth_token=key_a, api_key=None, max_retries=0, _strict_response_validation=True)
    # Its own environment and sessions.
    assert worker_client.beta.environments.work.poll(env_a.id) is None
    assert worker_client.beta.sessions.retrieve(session_a.id).id == session_a.id
    assert list(worker_client.beta.sessions.events.list(session_a.id)) is not None
    stats = worker_client.beta.environments.work.stats(env_a.id)
    assert stats.type == "work_queue_stats" and stats.depth == 0
    # Another environment's sessions and queue do not exist for it; the rest of the API is closed.
    with pytest.raises(anthropic.NotFoundError):
        worker_client.beta.sessions.retrieve(session_b.id)
    with pytest.raises(anthropic.NotFoundError):
        list(worker_client.beta.sessions.events.list(session_b.id))
    with pytest.raises(anthropic.NotFoundError):
        worker_client.beta.sessions.events.send(session_b.id, events=[user_message("hi")])
    with pytest.raises(anthropic.NotFoundError):
        worker_client.beta.environments.work.poll(env_b.id)
    with pytest.raises(anthropic.PermissionDeniedError):
        worker_client.beta.agents.list()
    with pytest.raises(anthropic.PermissionDeniedError):
        worker_client.beta.sessions.list()
    # The API key may not list work (the SDK: "It rejects a Claude API key").
    with pytest.raises(anthropic.PermissionDeniedError):
        client.beta.environments.work.list(env_a.id)

    # A wrong key learns nothing: the same 401 as any unknown credential.
    wrong = anthropic.Anthropic(base_url=server.base_url, auth_token="rvek_" + "x" * 40, api_key=None, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError) as refused:
        wrong.beta.environments.work.poll(env_a.id)
    assert refused.value.body["error"]["message"] == "invalid API key"

    revoked = httpx.delete(f"{server.base_url}/v1/environments/{env_a.id}/keys/{created['id']}", headers={"x-api-key": server.api_key})
    assert revoked.status_code == 200, revoked.text
    deadline = time.monotonic() + 10  # verified keys are cached for a few seconds
    while True:
        try:
            worker_client.beta.environments.work.poll(env_a.id)
        except anthropic.AuthenticationError:
            break
        assert time.monotonic() < deadline, "a revoked key still worked"
        time.sleep(0.5)
    listed = httpx.get(f"{server.base_url}/v1/environments/{env_a.id}/keys", headers={"x-api-key": server.api_key}).json()["data"]
    assert listed[0]["revoked_at"] is not None


def test_work_endpoints_errors_as_the_sdk_reads_them(make_server) -> None:
    server = make_server()
    client = server.client()
    environment = client.beta.environments.create(name="q", config={"type": "self_hosted"})
    key = create_key(server, environment.id)["key"]
    worker = anthropic.Anthropic(base_url=server.base_url, auth_token=key, api_key=None, max_retries=0, _strict_response_validation=True)
    # Without a runtime nothing queues a session (the Swift tests drive the lease rules): here
    # the empty queue and the errors, as the SDK reads them.
    assert worker.beta.environments.work.poll(environment.id, block_ms=50) is None
    with pytest.raises(anthropic.BadRequestError):
        worker.beta.environments.work.poll(environment.id, block_ms=0)
    with pytest.raises(anthropic.NotFoundError):
        worker.beta.environments.work.ack("work_missing", environment_id=environment.id)
    with pytest.raises(anthropic.NotFoundError):
        client.beta.environments.work.retrieve("work_missing", environment_id=environment.id)
    with pytest.raises(anthropic.PermissionDeniedError):
        worker.beta.environments.work.retrieve("work_missing", environment_id=environment.id)
    stats = client.beta.environments.work.stats(environment.id)
    assert (stats.depth, stats.pending, stats.oldest_queued_at) == (0, 0, None)


def test_environment_worker_mounts_the_sessions_memory_with_the_items_token(make_server, mock_llm, tmp_path: Path) -> None:
    mock = mock_llm({"rules": [
        {"name": "finish", "last_user_contains": "wrote 13 bytes", "reply": "Remembered."},
        {"name": "start", "last_user_contains": "remember", "reply": [
            {"type": "tool_use", "name": "read", "input": {"file_path": "/mnt/memory/notes/prefs.md"}}]},
        {"name": "after read", "last_user_contains": "likes tea", "reply": [
            {"type": "tool_use", "name": "write", "input": {"file_path": "/mnt/memory/notes/lesson.md", "content": "ask about tea"}}]},
    ]})
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    store = client.beta.memory_stores.create(name="notes")
    client.beta.memory_stores.memories.create(store.id, path="/prefs.md", content="likes tea")
    environment = client.beta.environments.create(name="memory", config={"type": "self_hosted"})
    agent = make_agent(client, tools=TOOLSET)
    session = client.beta.sessions.create(
        agent=agent.id, environment_id=environment.id,
        resources=[{"type": "memory_store", "memory_store_id": store.id, "access": "read_write"}])
    key = create_key(server, environment.id)["key"]
    worker = run_worker(server, environment.id, key, tmp_path / "workdir")
    try:
        client.beta.sessions.events.send(session.id, events=[user_message("Please remember.")])
        wait_for(client, session.id, turn_ended, timeout=30)
        # The SDK's worker mounts the store where the session resource's `mount_path` says, and
        # uploads changed files (through the memories endpoints, with the item's token) when it
        # finishes the session, after max_idle.
        deadline = time.monotonic() + 20
        while True:
            paths = [memory.path for memory in client.beta.memory_stores.memories.list(store.id)]
            if "/lesson.md" in paths:
                break
            assert time.monotonic() < deadline, f"the worker did not sync the memory back: {paths}"
            time.sleep(0.3)
    finally:
        worker.stop()
    assert worker.error is None, worker.error
    results = [event for event in client.beta.sessions.events.list(session.id, limit=1000) if event.type == "user.tool_result"]
    assert "likes tea" in results[0].content[0].text
    # The change is the session's agent's, made through its mount.
    lesson = next(memory for memory in client.beta.memory_stores.memories.list(store.id) if memory.path == "/lesson.md")
    versions = list(client.beta.memory_stores.memory_versions.list(store.id, memory_id=lesson.id))
    assert versions[0].created_by.type == "session_actor" and versions[0].created_by.session_id == session.id


SKILL_MD = b"""---
name: csv-report
description: Turns a CSV file into a short report with totals per column.
---
Run `python3 scripts/report.py <file>` and quote the totals.
"""


def test_environment_worker_downloads_the_agents_skills_with_the_items_token(make_server, mock_llm, tmp_path: Path) -> None:
    """The SDK's worker fetches the session's agent's skills (`skills.versions.retrieve` and
    `download`, with the item's sessions token) into `{workdir}/skills/<name>/`; the token
    reaches no other skill."""
    mock = mock_llm({"rules": [
        {"name": "finish", "last_user_contains": "quote the totals", "reply": "Followed the skill."},
        {"name": "start", "last_user_contains": "report", "reply": [
            {"type": "tool_use", "name": "bash", "input": {"command": "cat skills/csv-report/SKILL.md skills/csv-report/scripts/report.py"}}]},
    ]})
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    skill = client.beta.skills.create(files=[
        ("csv-report/SKILL.md", SKILL_MD, "text/markdown"), ("csv-report/scripts/report.py", b"print('totals')\n", "text/x-python")])
    other = client.beta.skills.create(files=[("other/SKILL.md", SKILL_MD.replace(b"csv-report", b"other"), "text/markdown")])
    environment = client.beta.environments.create(name="skills", config={"type": "self_hosted"})
    agent = make_agent(client, tools=TOOLSET, skills=[{"type": "custom", "skill_id": skill.id}])
    session = client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    key = create_key(server, environment.id)["key"]
    worker = run_worker(server, environment.id, key, tmp_path / "workdir")
    try:
        client.beta.sessions.events.send(session.id, events=[user_message("Make the report.")])
        wait_for(client, session.id, turn_ended, timeout=30)
    finally:
        worker.stop()
    assert worker.error is None, worker.error
    results = [event for event in client.beta.sessions.events.list(session.id, limit=1000) if event.type == "user.tool_result"]
    assert "quote the totals" in results[0].content[0].text and "print('totals')" in results[0].content[0].text

    # An item's token reads its agent's skills, and no other skill.
    session_two = client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    client.beta.sessions.events.send(session_two.id, events=[user_message("Make the report.")])
    keyed = anthropic.Anthropic(base_url=server.base_url, auth_token=key, max_retries=0)
    item = None
    deadline = time.monotonic() + 20
    while item is None and time.monotonic() < deadline:
        item = keyed.beta.environments.work.poll(environment.id, block_ms=999)
    assert item is not None and item.secret
    payload = json.loads(base64.urlsafe_b64decode(item.secret + "=" * (-len(item.secret) % 4)))
    scoped = anthropic.Anthropic(base_url=server.base_url, auth_token=payload["sessions_token"], max_retries=0)
    version = scoped.beta.skills.versions.retrieve("latest", skill_id=skill.id)
    assert version.name == "csv-report"
    with tarfile.open(fileobj=io.BytesIO(scoped.beta.skills.versions.download(version.id, skill_id=skill.id).read())) as archive:
        assert sorted(archive.getnames()) == ["csv-report/SKILL.md", "csv-report/scripts/report.py"]
    with pytest.raises(anthropic.NotFoundError):
        scoped.beta.skills.versions.retrieve("latest", skill_id=other.id)
    with pytest.raises(anthropic.PermissionDeniedError):
        scoped.beta.skills.list()
