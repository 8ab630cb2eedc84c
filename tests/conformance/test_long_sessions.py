"""Long sessions through the official SDK: a session on a model route with a small context
window is compacted (the SDK parses `agent.thread_context_compacted`), prompt caching shows in
the session's usage, and a message too large for the window stops the turn with
`compaction_limit_reached_error`."""

from __future__ import annotations

import json

from support import idle_count, runtime_session, user_message, wait_for

WINDOW = 10_000


def reports(count: int) -> dict:
    steps = [
        {"reply": [{"type": "tool_use", "name": "bash",
                    "input": {"command": f"printf 'report {index} line %04d: bulky output that only fills the context\\n' $(seq 1 60)"}}]}
        for index in range(count)
    ]
    steps.append({"reply": "All reports are printed."})
    return {
        "rules": [
            {"name": "compactor", "system_contains": "Reverie context compaction",
             "reply": "Summary: the user said the launch code is {{match:launch code is (\\d+)}}."},
            {"name": "answer", "last_user_contains": "What is the launch code",
             "reply": "The launch code is {{recall:launch code is (\\d+)}}."},
            {"name": "worker", "sequence": steps},
        ]
    }


def small_window_server(make_server, mock, tmp_path):
    models = tmp_path / "models.json"
    models.write_text(json.dumps({
        "providers": {"anthropic": {"type": "anthropic", "base_url": mock.url, "api_key": "test"}},
        "models": [{"match": "*", "provider": "anthropic", "context_window": WINDOW}],
    }))
    return make_server(runtime=True, env={"REVERIE_MODELS": str(models)})


def test_a_long_session_is_compacted_and_caches_its_prefix(make_server, mock_llm, tmp_path) -> None:
    mock = mock_llm(reports(20))
    client = small_window_server(make_server, mock, tmp_path).client()
    session = runtime_session(client, system="You print reports.")
    client.beta.sessions.events.send(session.id, events=[user_message("Remember: the launch code is 4417. Print the reports.")])
    wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    client.beta.sessions.events.send(session.id, events=[user_message("What is the launch code?")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 2)

    compacted = [event for event in events if event.type == "agent.thread_context_compacted"]
    assert len(compacted) >= 2
    assert all(type(event).__name__ == "BetaManagedAgentsAgentThreadContextCompactedEvent" for event in compacted)
    assert all("4417" in (event.model_extra or {}).get("summary", "") for event in compacted)
    assert [event for event in events if event.type == "agent.message"][-1].content[0].text == "The launch code is 4417."
    for request in mock.requests():
        assert len(json.dumps(request["body"])) // 4 < WINDOW

    usage = client.beta.sessions.retrieve(session.id).usage
    assert usage.cache_read_input_tokens > usage.input_tokens
    assert usage.cache_creation.ephemeral_5m_input_tokens > 0
    worker = [request for request in mock.requests() if request["rule"] == "worker"]
    assert worker[0]["body"]["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert worker[0]["body"]["tools"][-1]["cache_control"] == {"type": "ephemeral"}


def test_a_message_larger_than_the_window_stops_with_the_compaction_limit_error(make_server, mock_llm, tmp_path) -> None:
    mock = mock_llm(reports(1))
    client = small_window_server(make_server, mock, tmp_path).client()
    session = runtime_session(client)
    client.beta.sessions.events.send(session.id, events=[user_message("far too long " * (WINDOW // 2))])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    error = [event for event in events if event.type == "session.error"][-1]
    assert type(error.error).__name__ == "BetaManagedAgentsCompactionLimitReachedErrorObject"
    assert error.error.retry_status.type == "exhausted"
    idle = [event for event in events if event.type == "session.status_idle"][-1]
    assert idle.stop_reason.type == "retries_exhausted"
    assert not [request for request in mock.requests() if request["rule"] == "worker"]
