"""Multi-agent threads through the official SDK (`client.beta.sessions.threads`) against a live
`reverie serve` whose models are `reverie mock-llm`, with strict response validation."""

from __future__ import annotations

import queue
import threading
import time

import anthropic
import pytest

from support import expect_error, make_agent, make_environment

SCENARIO = {
    "rules": [
        {
            "name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Split the work",
            "reply": [
                {"type": "text", "text": "Delegating."},
                {"type": "tool_use", "name": "start_thread", "input": {"agent": "alpha", "task": "Write alpha.txt"}},
                {"type": "tool_use", "name": "start_thread", "input": {"agent": "beta", "task": "Write beta.txt"}},
            ],
        },
        {"name": "coord-wait", "system_contains": "You coordinate", "last_user_contains": "Started thread",
         "reply": [{"type": "tool_use", "name": "wait_for_threads", "input": {}}]},
        {"name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished:", "reply": "Both done."},
        {"name": "alpha", "system_contains": "You are alpha", "last_user_contains": "Write alpha",
         "reply": [{"type": "tool_use", "name": "write", "input": {"file_path": "/workspace/alpha.txt", "content": "a"}}]},
        {"name": "beta", "system_contains": "You are beta", "last_user_contains": "Write beta",
         "reply": [{"type": "tool_use", "name": "write", "input": {"file_path": "/workspace/beta.txt", "content": "b"}}]},
        {"name": "specialist-done", "last_user_contains": "Created /workspace/", "reply": "Written."},
    ],
    "fallback": {"reply": "ok"},
}


@pytest.fixture
def runtime_server(make_server, mock_llm):
    return make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock_llm(SCENARIO).url})


def _finished_session(client: anthropic.Anthropic):
    tools = [{"type": "agent_toolset_20260401"}]
    alpha = make_agent(client, name="alpha", system="You are alpha.", tools=tools)
    beta = make_agent(client, name="beta", system="You are beta.", tools=tools)
    lead = make_agent(client, name="lead", system="You coordinate.", multiagent={"type": "coordinator", "agents": [alpha.id, beta.id]})
    session = client.beta.sessions.create(agent=lead.id, environment_id=make_environment(client).id)
    client.beta.sessions.events.send(session.id, events=[{"type": "user.message", "content": [{"type": "text", "text": "Split the work"}]}])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        events = client.beta.sessions.events.list(session.id, limit=1000).data
        if any(e.type == "session.status_idle" and getattr(e, "session_thread_id", None) is None for e in events):
            return session, events
        time.sleep(0.1)
    raise AssertionError("the coordinator session did not finish")


def test_threads_and_their_events_parse_strictly(runtime_server) -> None:
    client = runtime_server.client()
    session, events = _finished_session(client)
    types = [e.type for e in events]
    assert types.count("session.thread_created") == 2
    assert "agent.thread_message_sent" in types
    assert "agent.thread_message_received" in types
    assert "session.thread_status_running" in types
    assert "session.thread_status_idle" in types
    created = [e for e in events if e.type == "session.thread_created"]
    assert {e.agent_name for e in created} == {"alpha", "beta"}
    assert all(e.session_thread_id.startswith("sthr_") for e in created)
    tool_uses = [e for e in events if e.type == "agent.tool_use" and e.name == "write"]
    assert len(tool_uses) == 2 and all(e.session_thread_id for e in tool_uses)

    threads = client.beta.sessions.threads.list(session.id).data
    assert len(threads) == 3
    primary = next(t for t in threads if t.parent_thread_id is None)
    children = [t for t in threads if t.parent_thread_id is not None]
    assert {t.agent.name for t in children} == {"alpha", "beta"}
    for thread in children:
        assert thread.type == "session_thread"
        assert thread.session_id == session.id
        assert thread.parent_thread_id == primary.id
        assert thread.status == "idle"
        assert thread.usage is not None and thread.usage.output_tokens > 0
        assert thread.stats is not None and thread.stats.duration_seconds >= 0
    assert [t.id for t in client.beta.sessions.threads.list(session.id, statuses=["running"]).data] == []

    child = children[0]
    retrieved = client.beta.sessions.threads.retrieve(child.id, session_id=session.id)
    assert retrieved.id == child.id and retrieved.agent.model.id == "claude-sonnet-4-5"

    own = client.beta.sessions.threads.events.list(child.id, session_id=session.id).data
    own_types = [e.type for e in own]
    assert own_types[0] == "session.thread_created"
    assert "agent.thread_message_received" in own_types and "agent.tool_result" in own_types
    assert own_types[-1] == "session.thread_status_idle"
    received = next(e for e in own if e.type == "agent.thread_message_received")
    assert received.from_session_thread_id == primary.id
    sent = [e for e in own if e.type == "agent.thread_message_sent"]
    assert sent and sent[0].to_session_thread_id == primary.id and sent[0].content[0].text == "Written."

    # The thread's stream replays the thread's events after Last-Event-ID, and only those.
    items: queue.Queue = queue.Queue()
    stream = client.beta.sessions.threads.events.stream(child.id, session_id=session.id, extra_headers={"Last-Event-ID": own[0].id})

    def read() -> None:
        try:
            for item in stream:
                items.put(item)
        except Exception as error:  # the stream is closed by the test
            items.put(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    streamed = [items.get(timeout=10) for _ in range(len(own) - 1)]
    stream.close()
    assert [e.id for e in streamed] == [e.id for e in own[1:]]

    archived = client.beta.sessions.threads.archive(child.id, session_id=session.id)
    assert archived.archived_at is not None
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "sthr_nope"):
        client.beta.sessions.threads.retrieve("sthr_nope", session_id=session.id)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "primary"):
        client.beta.sessions.threads.archive(primary.id, session_id=session.id)

    usage = client.beta.sessions.retrieve(session.id).usage
    assert usage.output_tokens >= sum(t.usage.output_tokens for t in children)
