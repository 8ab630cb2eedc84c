"""The agent runtime through the official SDK: a `reverie serve` that runs agents against
`reverie mock-llm`. Every response is validated strictly by the SDK's types."""

from __future__ import annotations

import json
import time

from support import TURN_TIMEOUT, StreamReader, idle_count, runtime_session, user_message, wait_for

TOOL_TURN = {
    "rules": [
        {
            "name": "start",
            "last_user_contains": "make notes",
            "reply": [
                {"type": "text", "text": "Writing."},
                {"type": "tool_use", "name": "write", "input": {"file_path": "notes.txt", "content": "one\ntwo\n"}},
            ],
            "usage": {"input_tokens": 100, "output_tokens": 10, "cache_read_input_tokens": 5},
        },
        {
            "name": "count",
            "last_user_contains": "Created /workspace/notes.txt",
            "reply": [{"type": "tool_use", "name": "bash", "input": {"command": "wc -l < notes.txt"}}],
            "usage": {"input_tokens": 200, "output_tokens": 20},
        },
        {
            "name": "finish",
            "last_user_regex": "^\\s*2",
            "latency_ms": 300,
            "reply": "The notes have 2 lines.",
            "usage": {"input_tokens": 300, "output_tokens": 30},
        },
    ]
}


def test_tool_run_parses_strictly_and_rolls_up_usage(make_server, mock_llm) -> None:
    mock = mock_llm(TOOL_TURN)
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    session = runtime_session(client)
    client.beta.sessions.events.send(session.id, events=[user_message("Please make notes.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    assert [event.type for event in events] == [
        "user.message", "session.status_running",
        "span.model_request_start", "agent.message", "agent.tool_use", "span.model_request_end", "agent.tool_result",
        "span.model_request_start", "agent.tool_use", "span.model_request_end", "agent.tool_result",
        "span.model_request_start", "agent.message", "span.model_request_end",
        "session.status_idle",
    ]
    uses = [event for event in events if event.type == "agent.tool_use"]
    results = [event for event in events if event.type == "agent.tool_result"]
    assert [use.name for use in uses] == ["write", "bash"]
    assert uses[0].input == {"file_path": "notes.txt", "content": "one\ntwo\n"}
    assert uses[0].evaluated_permission == "allow"
    assert [result.tool_use_id for result in results] == [use.id for use in uses]
    assert all(result.is_error is False for result in results)
    assert results[1].content[0].text.startswith("2")
    ends = [event for event in events if event.type == "span.model_request_end"]
    assert [end.model_usage.input_tokens for end in ends] == [100, 200, 300]
    assert all(end.is_error is False for end in ends)
    final = events[-1]
    assert final.stop_reason.type == "end_turn"
    assert events[-3].content[0].text == "The notes have 2 lines."

    retrieved = client.beta.sessions.retrieve(session.id)
    assert retrieved.status == "idle"
    assert retrieved.usage.input_tokens == 600
    assert retrieved.usage.output_tokens == 60
    assert retrieved.usage.cache_read_input_tokens == 5
    assert retrieved.stats.active_seconds is not None and retrieved.stats.active_seconds > 0
    assert retrieved.outcome_evaluations == []
    assert [request["rule"] for request in mock.requests()] == ["start", "count", "finish"]


def test_stream_shows_the_agents_events_live(make_server, mock_llm) -> None:
    # The last model call is held until the test has seen the session running during it.
    scenario = json.loads(json.dumps(TOOL_TURN))
    del scenario["rules"][2]["latency_ms"]
    scenario["rules"][2]["hold"] = "finish"
    mock = mock_llm(scenario)
    # Frequent heartbeats let the reader thread notice promptly when the test closes the stream.
    server = make_server("--heartbeat-seconds", "0.2", runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    session = runtime_session(client)
    reader = StreamReader(client, session.id)
    try:
        client.beta.sessions.events.send(session.id, events=[user_message("Please make notes.")])
        received = []
        while not received or received[-1].type != "session.status_idle":
            event = reader.next(TURN_TIMEOUT)
            received.append(event)
            if event.type == "agent.tool_result" and len([item for item in received if item.type == "agent.tool_result"]) == 2:
                # The last model call is held at the mock: the session is visibly running meanwhile.
                deadline = time.monotonic() + TURN_TIMEOUT
                while mock.held("finish") < 1:
                    assert time.monotonic() < deadline, "the last model call never reached the mock"
                    time.sleep(0.02)
                assert client.beta.sessions.retrieve(session.id).status == "running"
                mock.open_gate("finish")
        assert [event.type for event in received] == [
            event.type for event in client.beta.sessions.events.list(session.id, limit=1000)
        ]
        assert received[-1].stop_reason.type == "end_turn"
    finally:
        reader.close()


def test_retried_model_errors_are_logged_as_session_errors(make_server, mock_llm) -> None:
    mock = mock_llm({"rules": [{"name": "flaky", "fail_with": 429, "fail_times": 1, "retry_after": 0, "reply": "Recovered."}]})
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    session = runtime_session(client)
    client.beta.sessions.events.send(session.id, events=[user_message("hello")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    errors = [event for event in events if event.type == "session.error"]
    assert len(errors) == 1
    assert errors[0].error.type == "model_rate_limited_error"
    assert errors[0].error.retry_status.type == "retrying"
    assert events[-1].stop_reason.type == "end_turn"
    assert [event.content[0].text for event in events if event.type == "agent.message"] == ["Recovered."]
    assert len(mock.requests()) == 2


def test_kill_9_mid_turn_then_restart_resumes_the_session(make_server, mock_llm) -> None:
    mock = mock_llm({
        "rules": [
            {"name": "first", "last_user_contains": "long job",
             "reply": [{"type": "tool_use", "name": "write", "input": {"file_path": "step.txt", "content": "done"}}]},
            {"name": "stuck", "last_user_contains": "Created /workspace/step.txt", "latency_ms": 60000, "reply": "never"},
        ]
    })
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    session = runtime_session(client)
    client.beta.sessions.events.send(session.id, events=[user_message("do the long job")])
    wait_for(client, session.id, lambda events: sum(event.type == "span.model_request_start" for event in events) == 2)
    server.kill()
    mock.set_scenario({"rules": [{"name": "resumed", "last_user_contains": "Created /workspace/step.txt", "reply": "Finished after the crash."}]})
    server.start()
    client = server.client()
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    assert [event.type for event in events] == [
        "user.message", "session.status_running",
        "span.model_request_start", "agent.tool_use", "span.model_request_end", "agent.tool_result",
        "span.model_request_start", "span.model_request_end",
        "span.model_request_start", "agent.message", "span.model_request_end",
        "session.status_idle",
    ]
    ends = [event for event in events if event.type == "span.model_request_end"]
    assert [end.is_error for end in ends] == [False, True, False]
    assert events[-2].type == "span.model_request_end" and events[-3].content[0].text == "Finished after the crash."
    assert events[-1].stop_reason.type == "end_turn"
    assert client.beta.sessions.retrieve(session.id).status == "idle"
    assert mock.requests()[-1]["rule"] == "resumed"


def test_runtime_without_a_model_reports_a_session_error_and_idles(make_server) -> None:
    # No ANTHROPIC_API_KEY and the default Anthropic URL: the agent's model has no usable provider.
    server = make_server(runtime=True)
    client = server.client()
    session = runtime_session(client)
    client.beta.sessions.events.send(session.id, events=[user_message("hello")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    errors = [event for event in events if event.type == "session.error"]
    assert len(errors) == 1
    assert errors[0].error.retry_status.type == "terminal"
    assert "ANTHROPIC_API_KEY" in errors[0].error.message
    assert events[-1].type == "session.status_idle"
    assert events[-1].stop_reason.type == "end_turn"
    assert client.beta.sessions.retrieve(session.id).status == "idle"
    # The session is not stuck: the next message is answered the same way.
    client.beta.sessions.events.send(session.id, events=[user_message("again")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 2)
    assert sum(event.type == "session.error" for event in events) == 2
