"""Outcomes through the official SDK: `user.define_outcome`, the grader's spans and the
session's `outcome_evaluations`, all parsed strictly."""

from __future__ import annotations

import json

from support import idle_count, runtime_session, wait_for

GRADER = "You are a strict, fair grader"


def verdict(result: str, explanation: str) -> str:
    return json.dumps({
        "criteria": [{"criterion": "Has a title", "passed": result == "satisfied", "reason": explanation}],
        "result": result,
        "explanation": explanation,
    })


def define_outcome(description: str, rubric: str, max_iterations: int | None = None) -> dict:
    event = {"type": "user.define_outcome", "description": description, "rubric": {"type": "text", "content": rubric}}
    if max_iterations is not None:
        event["max_iterations"] = max_iterations
    return event


def test_revise_until_satisfied(make_server, mock_llm) -> None:
    mock = mock_llm({
        "rules": [
            {"name": "grader", "system_contains": GRADER, "sequence": [
                {"reply": verdict("needs_revision", "The title is missing."), "usage": {"input_tokens": 40, "output_tokens": 4}},
                {"reply": verdict("satisfied", "Good."), "usage": {"input_tokens": 40, "output_tokens": 4}},
            ]},
            {"name": "agent", "sequence": [
                {"reply": "Draft without a title.", "usage": {"input_tokens": 10, "output_tokens": 1}},
                {"reply": "# Title\nDraft with a title.", "usage": {"input_tokens": 10, "output_tokens": 1}},
            ]},
        ]
    })
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    session = runtime_session(client)
    sent = client.beta.sessions.events.send(session.id, events=[define_outcome("Write a report", "- Has a title")]).data
    outcome_id = sent[0].outcome_id
    assert outcome_id.startswith("outc_")
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)

    cycle = ["span.model_request_start", "agent.message", "span.model_request_end",
             "span.outcome_evaluation_start", "span.outcome_evaluation_ongoing", "span.outcome_evaluation_end"]
    assert [event.type for event in events] == ["user.define_outcome", "session.status_running", *cycle, *cycle, "session.status_idle"]
    starts = [event for event in events if event.type == "span.outcome_evaluation_start"]
    ends = [event for event in events if event.type == "span.outcome_evaluation_end"]
    assert [start.iteration for start in starts] == [0, 1]
    assert [end.iteration for end in ends] == [0, 1]
    assert [end.result for end in ends] == ["needs_revision", "satisfied"]
    assert [end.outcome_evaluation_start_id for end in ends] == [start.id for start in starts]
    assert all(end.outcome_id == outcome_id for end in ends)
    assert "The title is missing." in ends[0].explanation
    assert ends[0].usage.input_tokens == 40

    retrieved = client.beta.sessions.retrieve(session.id)
    assert len(retrieved.outcome_evaluations) == 1
    evaluation = retrieved.outcome_evaluations[0]
    assert evaluation.type == "outcome_evaluation"
    assert evaluation.outcome_id == outcome_id
    assert evaluation.description == "Write a report"
    assert evaluation.result == "satisfied"
    assert evaluation.iteration == 1
    assert evaluation.completed_at is not None
    assert retrieved.usage.input_tokens == 2 * 10 + 2 * 40

    grader_requests = [request for request in mock.requests() if request["rule"] == "grader"]
    assert len(grader_requests) == 2
    assert all(GRADER in json.dumps(request["body"]["system"]) for request in grader_requests)
    assert all(len(request["body"]["messages"]) == 1 for request in grader_requests)


def test_max_iterations_reached(make_server, mock_llm) -> None:
    mock = mock_llm({
        "rules": [
            {"name": "grader", "system_contains": GRADER, "reply": verdict("needs_revision", "Still no title.")},
            {"name": "agent", "reply": "Another draft."},
        ]
    })
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    session = runtime_session(client)
    client.beta.sessions.events.send(session.id, events=[define_outcome("Write a report", "- Has a title", max_iterations=2)])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    ends = [event for event in events if event.type == "span.outcome_evaluation_end"]
    assert [end.result for end in ends] == ["needs_revision", "max_iterations_reached"]
    # One acknowledgment turn follows the last evaluation.
    tail = events[events.index(ends[-1]) + 1:]
    assert [event.type for event in tail] == ["span.model_request_start", "agent.message", "span.model_request_end", "session.status_idle"]
    evaluation = client.beta.sessions.retrieve(session.id).outcome_evaluations[0]
    assert evaluation.result == "max_iterations_reached"
    assert len([request for request in mock.requests() if request["rule"] == "grader"]) == 2


def test_interrupt_during_grading(make_server, mock_llm) -> None:
    mock = mock_llm({
        "rules": [
            {"name": "grader", "system_contains": GRADER, "latency_ms": 60000, "reply": verdict("satisfied", "ok")},
            {"name": "agent", "reply": "Done."},
        ]
    })
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    session = runtime_session(client)
    client.beta.sessions.events.send(session.id, events=[define_outcome("Work", "- Done")])
    wait_for(client, session.id, lambda events: any(event.type == "span.outcome_evaluation_ongoing" for event in events))
    assert client.beta.sessions.retrieve(session.id).outcome_evaluations[0].result == "evaluating"
    client.beta.sessions.events.send(session.id, events=[{"type": "user.interrupt"}])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1, timeout=5)
    ends = [event for event in events if event.type == "span.outcome_evaluation_end"]
    assert [end.result for end in ends] == ["interrupted"]
    assert events[-1].stop_reason.type == "end_turn"
    assert client.beta.sessions.retrieve(session.id).outcome_evaluations[0].result == "interrupted"
