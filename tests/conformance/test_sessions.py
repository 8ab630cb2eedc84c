"""Sessions: the three ways to name the agent, initial events, retrieve, update (title,
metadata patch), the list filters and bidirectional pagination, delete, archive."""

from __future__ import annotations

import datetime as dt
import time

import anthropic
import pytest

from support import MODEL, all_pages, expect_error, ids, make_agent, make_environment, make_session, text, user_message


@pytest.fixture(scope="module")
def environment(client: anthropic.Anthropic):
    return make_environment(client)


def test_create_with_agent_id_pins_the_latest_version(client: anthropic.Anthropic, environment) -> None:
    agent = make_agent(client, system="first")
    agent = client.beta.agents.update(agent.id, system="second")
    session = client.beta.sessions.create(
        agent=agent.id, environment_id=environment.id, title="Order 1234", metadata={"ticket": "T-1"}
    )
    assert session.id.startswith("sesn_")
    assert session.type == "session"
    assert session.status == "idle"
    assert session.environment_id == environment.id
    assert session.title == "Order 1234"
    assert session.metadata == {"ticket": "T-1"}
    assert session.archived_at is None
    assert session.resources == [] and session.vault_ids == [] and session.outcome_evaluations == []
    assert session.usage.input_tokens == 0 and session.usage.output_tokens == 0
    assert session.agent.type == "agent"
    assert session.agent.id == agent.id
    assert session.agent.version == 2
    assert session.agent.system == "second"
    assert session.agent.model.id == MODEL
    assert session.created_at == session.updated_at

    fetched = client.beta.sessions.retrieve(session.id)
    assert fetched.model_dump(exclude={"stats"}) == session.model_dump(exclude={"stats"})


def test_create_with_versioned_reference_pins_that_version(client: anthropic.Anthropic, environment) -> None:
    agent = make_agent(client, system="v1")
    client.beta.agents.update(agent.id, system="v2")
    session = client.beta.sessions.create(agent={"type": "agent", "id": agent.id, "version": 1}, environment_id=environment.id)
    assert session.agent.version == 1 and session.agent.system == "v1"
    latest = client.beta.sessions.create(agent={"type": "agent", "id": agent.id}, environment_id=environment.id)
    assert latest.agent.version == 2 and latest.agent.system == "v2"
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "agent"):
        client.beta.sessions.create(agent={"type": "agent", "id": agent.id, "version": 9}, environment_id=environment.id)


def test_create_with_overrides_changes_only_the_session(client: anthropic.Anthropic, environment) -> None:
    agent = make_agent(client, system="agent prompt")
    tools = [
        {
            "type": "custom",
            "name": "ring_bell",
            "description": "Rings the bell.",
            "input_schema": {"type": "object", "properties": {}},
        }
    ]
    session = client.beta.sessions.create(
        agent={
            "type": "agent_with_overrides",
            "id": agent.id,
            "version": 1,
            "system": "override prompt",
            "model": "claude-haiku-4-5",
            "tools": tools,
        },
        environment_id=environment.id,
    )
    assert session.agent.id == agent.id and session.agent.version == 1
    assert session.agent.system == "override prompt"
    assert session.agent.model.id == "claude-haiku-4-5"
    assert [tool.name for tool in session.agent.tools] == ["ring_bell"]
    unchanged = client.beta.agents.retrieve(agent.id)
    assert unchanged.version == 1 and unchanged.system == "agent prompt" and unchanged.tools == []
    assert unchanged.model.id == MODEL


def test_initial_events_are_logged_in_order(client: anthropic.Anthropic, environment) -> None:
    session = make_session(
        client,
        environment_id=environment.id,
        initial_events=[
            user_message("first"),
            {"type": "user.define_outcome", "description": "A haiku", "rubric": {"type": "text", "content": "5-7-5"}},
            user_message("second"),
        ],
    )
    events = client.beta.sessions.events.list(session.id).data
    assert [event.type for event in events] == ["user.message", "user.define_outcome", "user.message"]
    assert events[0].content[0].text == "first" and events[2].content[0].text == "second"
    outcome = events[1]
    assert outcome.description == "A haiku" and outcome.rubric.content == "5-7-5"
    assert outcome.max_iterations == 3
    assert outcome.outcome_id.startswith("outc_")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "initial_events[0]"):
        make_session(client, environment_id=environment.id, initial_events=[{"type": "user.interrupt"}])


def test_update_title_and_metadata_patch(client: anthropic.Anthropic, environment) -> None:
    session = make_session(client, environment_id=environment.id, title="draft", metadata={"a": "1", "b": "2"})
    updated = client.beta.sessions.update(session.id, title="final", metadata={"a": None, "c": "3"})
    assert updated.title == "final"
    assert updated.metadata == {"b": "2", "c": "3"}
    assert updated.updated_at > session.updated_at
    assert client.beta.sessions.retrieve(session.id).model_dump(exclude={"stats"}) == updated.model_dump(exclude={"stats"})
    # Omitted fields are preserved.
    again = client.beta.sessions.update(session.id, metadata={"d": "4"})
    assert again.title == "final" and again.metadata == {"b": "2", "c": "3", "d": "4"}
    cleared = client.beta.sessions.update(session.id, title=None)
    assert cleared.title is None and cleared.metadata == again.metadata
    # Each effective update is recorded in the log as a session.updated event.
    updates = client.beta.sessions.events.list(session.id, types=["session.updated"]).data
    assert len(updates) == 3
    assert updates[0].title == "final" and updates[0].metadata == {"b": "2", "c": "3"}
    assert updates[1].metadata == {"b": "2", "c": "3", "d": "4"}


def test_list_filters(client: anthropic.Anthropic, environment) -> None:
    agent = make_agent(client)
    first = client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    client.beta.agents.update(agent.id, system="v2")
    second = client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    third = client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    client.beta.sessions.archive(third.id)
    other = make_session(client, environment_id=environment.id)

    by_agent = ids(client.beta.sessions.list(agent_id=agent.id, limit=100).data)
    assert set(by_agent) == {first.id, second.id}
    assert other.id not in by_agent
    assert set(ids(client.beta.sessions.list(agent_id=agent.id, include_archived=True, limit=100).data)) == {
        first.id, second.id, third.id,
    }
    assert ids(client.beta.sessions.list(agent_id=agent.id, agent_version=1, limit=100).data) == [first.id]
    assert ids(client.beta.sessions.list(agent_id=agent.id, agent_version=2, limit=100).data) == [second.id]
    assert set(ids(client.beta.sessions.list(agent_id=agent.id, statuses=["idle"], limit=100).data)) == {first.id, second.id}
    assert set(ids(client.beta.sessions.list(agent_id=agent.id, statuses=["idle", "running"], limit=100).data)) == {
        first.id, second.id,
    }
    assert client.beta.sessions.list(agent_id=agent.id, statuses=["running", "terminated"]).data == []
    ascending = ids(client.beta.sessions.list(agent_id=agent.id, order="asc", include_archived=True).data)
    descending = ids(client.beta.sessions.list(agent_id=agent.id, order="desc", include_archived=True).data)
    assert ascending == [first.id, second.id, third.id]
    assert descending == list(reversed(ascending))


def test_list_filters_by_created_at(client: anthropic.Anthropic, environment) -> None:
    agent = make_agent(client)
    sessions = []
    for _ in range(3):
        sessions.append(client.beta.sessions.create(agent=agent.id, environment_id=environment.id))
        time.sleep(0.01)
    first, middle, last = sessions

    def listed(**filters) -> set[str]:
        return set(ids(client.beta.sessions.list(agent_id=agent.id, limit=100, **filters).data))

    assert listed(created_at_gte=middle.created_at) == {middle.id, last.id}
    assert listed(created_at_gt=middle.created_at) == {last.id}
    assert listed(created_at_lte=middle.created_at) == {first.id, middle.id}
    assert listed(created_at_lt=middle.created_at) == {first.id}
    assert listed(created_at_gt=first.created_at, created_at_lt=last.created_at) == {middle.id}
    assert listed(created_at_gte=last.created_at + dt.timedelta(hours=1)) == set()


def test_pagination_forward_and_back(client: anthropic.Anthropic, environment) -> None:
    agent = make_agent(client)
    created = [client.beta.sessions.create(agent=agent.id, environment_id=environment.id).id for _ in range(5)]
    for order, expected in (("asc", created), ("desc", list(reversed(created)))):
        pages = all_pages(client.beta.sessions.list(agent_id=agent.id, limit=2, order=order))
        assert [len(page.data) for page in pages] == [2, 2, 1]
        assert [session.id for page in pages for session in page.data] == expected
        assert pages[0].prev_page is None
        assert pages[-1].next_page is None
        # prev_page leads back to exactly the previous page.
        for index in (1, 2):
            assert pages[index].prev_page
            back = client.beta.sessions.list(agent_id=agent.id, limit=2, order=order, page=pages[index].prev_page)
            assert ids(back.data) == ids(pages[index - 1].data)
            assert back.next_page
            forward = client.beta.sessions.list(agent_id=agent.id, limit=2, order=order, page=back.next_page)
            assert ids(forward.data) == ids(pages[index].data)
    assert [session.id for session in client.beta.sessions.list(agent_id=agent.id, limit=2, order="asc")] == created


def test_delete_removes_the_session_and_its_log(client: anthropic.Anthropic, environment) -> None:
    session = make_session(client, environment_id=environment.id, initial_events=[user_message("hello")])
    deleted = client.beta.sessions.delete(session.id)
    assert deleted.id == session.id and deleted.type == "session_deleted"
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", session.id):
        client.beta.sessions.retrieve(session.id)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", session.id):
        client.beta.sessions.events.list(session.id)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", session.id):
        client.beta.sessions.delete(session.id)
    assert session.id not in [item.id for item in client.beta.sessions.list(limit=1000, include_archived=True)]


def test_archived_session_is_read_only(client: anthropic.Anthropic, environment) -> None:
    session = make_session(client, environment_id=environment.id, title="kept")
    archived = client.beta.sessions.archive(session.id)
    assert archived.archived_at is not None and archived.title == "kept"
    assert client.beta.sessions.retrieve(session.id).archived_at == archived.archived_at
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", session.id):
        client.beta.sessions.update(session.id, title="changed")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", session.id):
        client.beta.sessions.events.send(session.id, events=[user_message("too late")])
    assert client.beta.sessions.retrieve(session.id).title == "kept"
    assert client.beta.sessions.events.list(session.id).data == []
    assert client.beta.sessions.archive(session.id).archived_at == archived.archived_at


def test_create_rejects_unknown_references(client: anthropic.Anthropic, environment) -> None:
    agent = make_agent(client)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "agent", "agent_doesnotexist"):
        client.beta.sessions.create(agent="agent_doesnotexist", environment_id=environment.id)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "environment_id", "env_doesnotexist"):
        client.beta.sessions.create(agent=agent.id, environment_id="env_doesnotexist")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "agent.type"):
        client.beta.sessions.create(agent={"type": "robot", "id": agent.id}, environment_id=environment.id)


def test_unknown_session_is_not_found(client: anthropic.Anthropic) -> None:
    missing = "sesn_doesnotexist"
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", missing):
        client.beta.sessions.retrieve(missing)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", missing):
        client.beta.sessions.update(missing, title="x")
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", missing):
        client.beta.sessions.archive(missing)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", missing):
        client.beta.sessions.events.send(missing, events=[{"type": "user.message", "content": [text("hi")]}])


def test_update_replaces_the_session_agent_tools(client: anthropic.Anthropic, environment) -> None:
    agent = make_agent(client)
    session = make_session(client, agent=agent.id, environment_id=environment.id)
    tool = {"type": "custom", "name": "ring_bell", "description": "Rings the bell.", "input_schema": {"type": "object"}}
    updated = client.beta.sessions.update(session.id, agent={"tools": [tool]})
    assert [item.name for item in updated.agent.tools] == ["ring_bell"]
    assert updated.agent.id == agent.id and updated.agent.version == 1
    assert client.beta.agents.retrieve(agent.id).tools == []
    event = client.beta.sessions.events.list(session.id, types=["session.updated"]).data[-1]
    assert event.agent is not None and [item.name for item in event.agent.tools] == ["ring_bell"]


def raw_updates(client: anthropic.Anthropic, session_id: str) -> list[dict]:
    """The session.updated events as JSON, so absent and null members can be told apart."""
    response = client.beta.sessions.events.with_raw_response.list(session_id, types=["session.updated"])
    return [
        {key: value for key, value in event.items() if key not in ("id", "processed_at", "type")}
        for event in response.http_response.json()["data"]
    ]


def test_session_updated_event_carries_only_what_changed(client: anthropic.Anthropic, environment) -> None:
    session = make_session(client, environment_id=environment.id, title="same", metadata={"a": "1"})
    client.beta.sessions.update(session.id, title="same", metadata={"b": "2"})
    client.beta.sessions.update(session.id, metadata={"a": None, "b": None})
    client.beta.sessions.update(session.id, title=None)
    assert raw_updates(client, session.id) == [
        {"metadata": {"a": "1", "b": "2"}},  # the title was sent but did not change
        {},  # metadata cleared to empty is absent
        {"title": None},
    ]
