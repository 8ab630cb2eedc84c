"""Server-Sent Events through the SDK's `client.beta.sessions.events.stream(...)`: live
delivery, resumption with `Last-Event-ID`, fan-out, heartbeats, and errors."""

from __future__ import annotations

from typing import Any, Iterator

import anthropic
import pytest

from conftest import ReverieServer
from support import WAIT, StreamReader, expect_error, make_environment, make_session, text, user_message


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReverieServer]:
    # Frequent heartbeats, so the tests see that `ping` frames never reach the caller.
    instance = ReverieServer(tmp_path_factory.mktemp("reverie") / "data", extra_args=("--heartbeat-seconds", "0.2")).start()
    yield instance
    instance.close()


@pytest.fixture
def open_stream(client: anthropic.Anthropic) -> Iterator:
    readers: list[StreamReader] = []

    def factory(session_id: str, **options: Any) -> StreamReader:
        reader = StreamReader(client, session_id, **options)
        readers.append(reader)
        return reader

    yield factory
    for reader in readers:
        reader.close()


@pytest.fixture(scope="module")
def environment(client: anthropic.Anthropic):
    return make_environment(client)


@pytest.fixture
def session(client: anthropic.Anthropic, environment):
    return make_session(client, environment_id=environment.id)


def send(client: anthropic.Anthropic, session_id: str, *events: dict) -> list:
    return client.beta.sessions.events.send(session_id, events=list(events)).data


def test_stream_delivers_events_sent_after_it_opened(client: anthropic.Anthropic, session, open_stream) -> None:
    send(client, session.id, user_message("before the stream"))
    reader = open_stream(session.id)
    sent = send(client, session.id, user_message("hello"), {"type": "system.message", "content": [text("be brief")]})
    sent += send(client, session.id, {"type": "user.interrupt"})
    received = reader.take(3)
    assert [event.id for event in received] == [event.id for event in sent]
    assert [event.type for event in received] == ["user.message", "system.message", "user.interrupt"]
    assert [event.model_dump() for event in received] == [event.model_dump() for event in sent]
    reader.assert_quiet()
    listed = client.beta.sessions.events.list(session.id).data
    assert [event.model_dump() for event in listed[1:]] == [event.model_dump() for event in received]


def test_heartbeats_do_not_reach_the_caller(client: anthropic.Anthropic, session, open_stream) -> None:
    reader = open_stream(session.id)
    reader.assert_quiet(1.0)  # several 0.2 s heartbeats pass; the SDK drops `ping` frames
    sent = send(client, session.id, user_message("after the pings"))
    assert reader.next().id == sent[0].id


def test_resume_with_last_event_id_replays_exactly_what_followed(client: anthropic.Anthropic, session, open_stream) -> None:
    sent = []
    for index in range(5):
        sent += send(client, session.id, user_message(f"m{index}"))
    reader = open_stream(session.id, extra_headers={"Last-Event-ID": sent[1].id})
    replayed = reader.take(3)
    assert [event.id for event in replayed] == [event.id for event in sent[2:]]
    reader.assert_quiet()
    live = send(client, session.id, user_message("live"))
    assert reader.next().id == live[0].id
    reader.assert_quiet()


def test_resume_from_the_last_event_replays_nothing(client: anthropic.Anthropic, session, open_stream) -> None:
    sent = send(client, session.id, user_message("a"), user_message("b"))
    reader = open_stream(session.id, extra_headers={"Last-Event-ID": sent[-1].id})
    reader.assert_quiet()
    live = send(client, session.id, user_message("c"))
    assert reader.next().id == live[0].id


def test_several_streams_see_the_same_events(client: anthropic.Anthropic, session, open_stream) -> None:
    readers = [open_stream(session.id) for _ in range(3)]
    sent = send(client, session.id, user_message("x"), user_message("y"))
    sent += send(client, session.id, user_message("z"))
    for reader in readers:
        assert [event.id for event in reader.take(3)] == [event.id for event in sent]


def test_stream_carries_server_produced_events(client: anthropic.Anthropic, session, open_stream) -> None:
    reader = open_stream(session.id)
    client.beta.sessions.update(session.id, title="Renamed")
    event = reader.next()
    assert event.type == "session.updated"
    assert event.title == "Renamed"


def test_stream_ends_when_the_session_is_deleted(client: anthropic.Anthropic, session) -> None:
    reader = StreamReader(client, session.id)
    try:
        sent = send(client, session.id, user_message("last words"))
        assert reader.next().id == sent[0].id
        client.beta.sessions.delete(session.id)
        reader.thread.join(WAIT)
        assert not reader.thread.is_alive(), "stream stayed open after its session was deleted"
    finally:
        reader.close()


def test_stream_errors(client: anthropic.Anthropic, session) -> None:
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "sesn_doesnotexist"):
        client.beta.sessions.events.stream("sesn_doesnotexist")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "Last-Event-ID", "sevt_doesnotexist"):
        client.beta.sessions.events.stream(session.id, extra_headers={"Last-Event-ID": "sevt_doesnotexist"})
