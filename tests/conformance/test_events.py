"""Session events: every type a client may send, the rules on which may be sent, and
listing with the types and created_at filters, order and pagination."""

from __future__ import annotations

import datetime as dt
import threading
import time

import anthropic
import pytest

from support import expect_error, make_environment, make_session, text, user_message


@pytest.fixture(scope="module")
def cloud_environment(client: anthropic.Anthropic):
    return make_environment(client)


@pytest.fixture
def session(client: anthropic.Anthropic, cloud_environment):
    return make_session(client, environment_id=cloud_environment.id)


def test_every_sendable_type_is_accepted_and_logged(client: anthropic.Anthropic, session) -> None:
    sent = []
    message = client.beta.sessions.events.send(
        session.id,
        events=[
            {
                "type": "user.message",
                "content": [
                    text("Summarise the attached notes."),
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}, "title": "Notes"},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
                ],
            },
            {"type": "system.message", "content": [text("Answer in French.")]},
        ],
    ).data
    assert [event.type for event in message] == ["user.message", "system.message"]
    assert message[0].content[0].text == "Summarise the attached notes."
    assert message[0].content[1].type == "document" and message[0].content[1].title == "Notes"
    assert message[0].content[2].source.url == "https://example.com/cat.png"
    assert message[1].content[0].text == "Answer in French."
    sent += message

    interrupt = client.beta.sessions.events.send(session.id, events=[{"type": "user.interrupt"}]).data
    assert [event.type for event in interrupt] == ["user.interrupt"]
    sent += interrupt

    confirmations = client.beta.sessions.events.send(
        session.id,
        events=[
            {"type": "user.tool_confirmation", "tool_use_id": "sevt_tooluse1", "result": "allow"},
            {"type": "user.tool_confirmation", "tool_use_id": "sevt_tooluse2", "result": "deny", "deny_message": "Not on prod."},
        ],
    ).data
    assert [(event.tool_use_id, event.result, event.deny_message) for event in confirmations] == [
        ("sevt_tooluse1", "allow", None),
        ("sevt_tooluse2", "deny", "Not on prod."),
    ]
    sent += confirmations

    custom = client.beta.sessions.events.send(
        session.id,
        events=[
            {"type": "user.custom_tool_result", "custom_tool_use_id": "sevt_custom1", "content": [text("42")], "is_error": False},
            {"type": "system.message", "content": [text("The tool result is authoritative.")]},
        ],
    ).data
    assert custom[0].type == "user.custom_tool_result"
    assert custom[0].custom_tool_use_id == "sevt_custom1"
    assert custom[0].content[0].text == "42" and custom[0].is_error is False
    assert custom[1].type == "system.message"
    sent += custom

    outcome = client.beta.sessions.events.send(
        session.id,
        events=[
            {
                "type": "user.define_outcome",
                "description": "A release note",
                "rubric": {"type": "text", "content": "Mentions every fix."},
                "max_iterations": 5,
            }
        ],
    ).data
    assert outcome[0].type == "user.define_outcome"
    assert outcome[0].description == "A release note"
    assert outcome[0].rubric.type == "text" and outcome[0].rubric.content == "Mentions every fix."
    assert outcome[0].max_iterations == 5
    assert outcome[0].outcome_id.startswith("outc_")
    sent += outcome

    for event in sent:
        assert event.id.startswith("sevt_")
        assert event.processed_at is not None
    assert len({event.id for event in sent}) == len(sent)

    logged = list(client.beta.sessions.events.list(session.id))
    assert [event.model_dump() for event in logged] == [event.model_dump() for event in sent]


def test_system_message_must_follow_a_user_message_in_the_same_request(client: anthropic.Anthropic, session) -> None:
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "events[0]", "system.message"):
        client.beta.sessions.events.send(session.id, events=[{"type": "system.message", "content": [text("alone")]}])
    client.beta.sessions.events.send(session.id, events=[user_message("earlier request")])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "events[0]"):
        client.beta.sessions.events.send(session.id, events=[{"type": "system.message", "content": [text("late")]}])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "events[1]"):
        client.beta.sessions.events.send(
            session.id,
            events=[user_message("a"), {"type": "system.message", "content": [text("b")]}, user_message("c")],
        )
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "events[1]"):
        client.beta.sessions.events.send(
            session.id, events=[{"type": "user.interrupt"}, {"type": "system.message", "content": [text("b")]}]
        )
    assert [event.type for event in client.beta.sessions.events.list(session.id).data] == ["user.message"]


def test_tool_result_needs_a_self_hosted_environment(client: anthropic.Anthropic, session) -> None:
    result = {"type": "user.tool_result", "tool_use_id": "sevt_tool1", "content": [text("file contents")], "is_error": False}
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "user.tool_result", "self_hosted"):
        client.beta.sessions.events.send(session.id, events=[result])
    assert client.beta.sessions.events.list(session.id).data == []

    self_hosted = make_environment(client, config={"type": "self_hosted"})
    own = make_session(client, environment_id=self_hosted.id)
    sent = client.beta.sessions.events.send(
        own.id, events=[result, {"type": "system.message", "content": [text("Trust the tool.")]}]
    ).data
    assert sent[0].type == "user.tool_result"
    assert sent[0].tool_use_id == "sevt_tool1"
    assert sent[0].content[0].text == "file contents" and sent[0].is_error is False
    assert sent[1].type == "system.message"
    assert [event.id for event in client.beta.sessions.events.list(own.id).data] == [event.id for event in sent]


def test_unknown_and_server_produced_types_are_refused(client: anthropic.Anthropic, session) -> None:
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "events[0].type", "user.shout"):
        client.beta.sessions.events.send(session.id, events=[{"type": "user.shout", "content": [text("hi")]}])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "events[1].type", "agent.message"):
        client.beta.sessions.events.send(
            session.id, events=[user_message("ok"), {"type": "agent.message", "content": [text("I am the agent")]}]
        )
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "session.status_idle"):
        client.beta.sessions.events.send(session.id, events=[{"type": "session.status_idle"}])
    # A refused request stores none of its events.
    assert client.beta.sessions.events.list(session.id).data == []


def test_invalid_event_fields_name_the_field(client: anthropic.Anthropic, session) -> None:
    cases = [
        ([], "events"),
        ([user_message(str(index)) for index in range(51)], "events"),
        ([{"type": "user.message", "content": []}], "events[0].content"),
        ([{"type": "user.message", "content": [{"type": "video"}]}], "events[0].content[0].type"),
        ([{"type": "user.tool_confirmation", "tool_use_id": "sevt_x", "result": "maybe"}], "events[0].result"),
        (
            [{"type": "user.tool_confirmation", "tool_use_id": "sevt_x", "result": "allow", "deny_message": "no"}],
            "events[0].deny_message",
        ),
        ([{"type": "user.custom_tool_result", "content": [text("x")]}], "events[0].custom_tool_use_id"),
        (
            [{"type": "user.define_outcome", "description": "d", "rubric": {"type": "text", "content": "r"}, "max_iterations": 21}],
            "events[0].max_iterations",
        ),
        ([{"type": "user.define_outcome", "description": "d"}], "events[0].rubric"),
    ]
    for events, field in cases:
        with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", field):
            client.beta.sessions.events.send(session.id, events=events)
    assert client.beta.sessions.events.list(session.id).data == []


def test_list_filters_by_type(client: anthropic.Anthropic, session) -> None:
    client.beta.sessions.events.send(session.id, events=[user_message("one")])
    client.beta.sessions.events.send(session.id, events=[{"type": "user.interrupt"}])
    client.beta.sessions.events.send(
        session.id, events=[user_message("two"), {"type": "system.message", "content": [text("sys")]}]
    )
    messages = client.beta.sessions.events.list(session.id, types=["user.message"]).data
    assert [event.content[0].text for event in messages] == ["one", "two"]
    mixed = client.beta.sessions.events.list(session.id, types=["user.interrupt", "system.message"]).data
    assert [event.type for event in mixed] == ["user.interrupt", "system.message"]
    assert client.beta.sessions.events.list(session.id, types=["agent.message"]).data == []
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "types"):
        client.beta.sessions.events.list(session.id, types=["user.shout"])  # type: ignore[list-item]


def test_order_and_pagination(client: anthropic.Anthropic, session) -> None:
    sent = []
    for index in range(7):
        sent += client.beta.sessions.events.send(session.id, events=[user_message(f"m{index}")]).data
    expected = [event.id for event in sent]

    default = client.beta.sessions.events.list(session.id)
    assert [event.id for event in default.data] == expected, "events list chronologically by default"
    for order, wanted in (("asc", expected), ("desc", list(reversed(expected)))):
        first = client.beta.sessions.events.list(session.id, limit=3, order=order)
        pages = [first]
        while pages[-1].has_next_page():
            pages.append(pages[-1].get_next_page())
        assert [len(page.data) for page in pages] == [3, 3, 1]
        assert [event.id for page in pages for event in page.data] == wanted
        assert pages[-1].next_page is None
        assert [event.id for event in client.beta.sessions.events.list(session.id, limit=2, order=order)] == wanted


def test_log_order_follows_processed_at_under_concurrent_writers(server, client: anthropic.Anthropic, session) -> None:
    def out_of_order() -> list:
        log = list(client.beta.sessions.events.list(session.id, limit=1000))
        return [(a.id, b.id) for a, b in zip(log, log[1:]) if b.processed_at < a.processed_at]

    for _ in range(4):
        def send(number: int) -> None:
            own = server.client()
            for index in range(25):
                own.beta.sessions.events.send(session.id, events=[user_message(f"{number}-{index}")])

        def update(number: int) -> None:
            own = server.client()
            for index in range(25):
                own.beta.sessions.update(session.id, title=f"{number}-{index}")

        workers = [threading.Thread(target=send, args=(n,)) for n in range(2)]
        workers += [threading.Thread(target=update, args=(n,)) for n in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert out_of_order() == [], "events are listed out of processed_at order"
    for order in ("asc", "desc"):
        log = list(client.beta.sessions.events.list(session.id, limit=1000, order=order))
        times = [event.processed_at for event in log]
        assert times == sorted(times, reverse=order == "desc")


def test_list_filters_by_created_at(client: anthropic.Anthropic, session) -> None:
    batches = []
    for index in range(3):
        batches.append(client.beta.sessions.events.send(session.id, events=[user_message(f"b{index}")]).data[0])
        time.sleep(0.01)
    first, middle, last = batches

    def listed(**filters) -> list[str]:
        return [event.id for event in client.beta.sessions.events.list(session.id, **filters).data]

    assert listed(created_at_gte=middle.processed_at) == [middle.id, last.id]
    assert listed(created_at_gt=middle.processed_at) == [last.id]
    assert listed(created_at_lte=middle.processed_at) == [first.id, middle.id]
    assert listed(created_at_lt=middle.processed_at) == [first.id]
    assert listed(created_at_gt=first.processed_at, created_at_lt=last.processed_at) == [middle.id]
    assert listed(created_at_gte=last.processed_at + dt.timedelta(hours=1)) == []
