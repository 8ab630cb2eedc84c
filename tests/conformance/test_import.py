"""Imported sessions (`POST /v1/sessions/import`, a Reverie extension; `reverie import`)
read through the official SDK with strict response validation: the session and its events
parse as the SDK's own types, and the session refuses new events."""

from __future__ import annotations

import json
import subprocess

import anthropic

from conftest import API_KEY, reverie_binary
from support import expect_error, make_agent, make_environment, text, user_message

EVENTS = [
    user_message("Tag the release for version 3.11.7."),
    {"type": "agent.message", "content": [text("Tagging it.")]},
    {"type": "agent.tool_use", "id": "call_1", "name": "bash", "input": {"command": "git tag v3.11.7"}},
    {"type": "agent.tool_result", "tool_use_id": "call_1", "is_error": True, "content": [text("fatal: tag 'v3.11.7' already exists")]},
    {"type": "agent.message", "content": [text("The tag already exists.")]},
]


def test_an_imported_session_parses_strictly_and_is_read_only(client: anthropic.Anthropic) -> None:
    body = {
        "agent": make_agent(client).id, "environment_id": make_environment(client).id, "title": "Release tag",
        "source": "jsonl", "success": False, "reward": 0.25, "events": EVENTS,
    }
    created = client.post("/v1/sessions/import", body=body, cast_to=object)
    session = client.beta.sessions.retrieve(created["id"])
    assert session.status == "terminated"
    assert session.title == "Release tag"
    # The extension member is kept by the SDK's models.
    assert session.imported == {"source": "jsonl", "source_id": None, "success": False, "reward": 0.25}

    events = list(client.beta.sessions.events.list(session.id))
    assert [event.type for event in events] == ["user.message", "agent.message", "agent.tool_use", "agent.tool_result", "agent.message"]
    assert events[3].tool_use_id == events[2].id
    assert events[3].is_error is True
    assert events[2].name == "bash" and events[2].input == {"command": "git tag v3.11.7"}

    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "imported", "read-only"):
        client.beta.sessions.events.send(session.id, events=[user_message("one more thing")])
    assert len(list(client.beta.sessions.events.list(session.id))) == len(EVENTS)


def test_a_bad_import_is_refused_with_the_field_named(client: anthropic.Anthropic) -> None:
    body = {
        "agent": make_agent(client).id, "environment_id": make_environment(client).id, "source": "jsonl",
        "events": [{"type": "agent.tool_result", "tool_use_id": "nowhere", "content": [text("x")]}],
    }
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "events[0].tool_use_id", "nowhere"):
        client.post("/v1/sessions/import", body=body, cast_to=object)


def test_the_command_line_prints_the_new_session_ids(client: anthropic.Anthropic, server, tmp_path) -> None:
    log = tmp_path / "chat.jsonl"
    log.write_text("\n".join(json.dumps(line) for line in [
        {"messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "one"}]},
        {"messages": [{"role": "user", "content": "second"}, {"role": "assistant", "content": "two"}], "success": True},
    ]) + "\n")
    result = subprocess.run(
        [str(reverie_binary()), "import", "openai-chat", str(log), "--url", server.base_url, "--api-key", API_KEY],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    ids = result.stdout.split()
    assert len(ids) == 2
    sessions = [client.beta.sessions.retrieve(session_id) for session_id in ids]
    assert [session.title for session in sessions] == ["first", "second"]
    assert [session.imported["success"] for session in sessions] == [None, True]
    assert all(session.agent.name == "Imported transcripts" for session in sessions)
