"""Helpers shared by the conformance tests (builders and assertions; no fixtures)."""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
import time
from typing import Any, Callable, Iterator, Optional

import anthropic
import pytest

MODEL = "claude-sonnet-4-5"
WAIT = 10.0
_END = object()
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_counter)}"


def text(value: str) -> dict:
    """A text content block."""
    return {"type": "text", "text": value}


def user_message(value: str) -> dict:
    return {"type": "user.message", "content": [text(value)]}


def make_agent(client: anthropic.Anthropic, **fields: Any):
    fields.setdefault("name", unique("agent"))
    fields.setdefault("model", MODEL)
    return client.beta.agents.create(**fields)


def make_environment(client: anthropic.Anthropic, **fields: Any):
    fields.setdefault("name", unique("env"))
    return client.beta.environments.create(**fields)


def make_session(client: anthropic.Anthropic, *, agent: Any = None, environment_id: Optional[str] = None, **fields: Any):
    if agent is None:
        agent = make_agent(client).id
    if environment_id is None:
        environment_id = make_environment(client).id
    return client.beta.sessions.create(agent=agent, environment_id=environment_id, **fields)


def all_pages(page) -> list:
    """Every page of a list, following `next_page` through the SDK."""
    pages = [page]
    while page.has_next_page():
        page = page.get_next_page()
        pages.append(page)
    return pages


def ids(items) -> list[str]:
    return [item.id for item in items]


@contextlib.contextmanager
def expect_error(
    exception: type[anthropic.APIStatusError], status: int, error_type: str, *mentions: str
) -> Iterator[pytest.ExceptionInfo]:
    """Expects the SDK to raise `exception` for an HTTP `status` whose body is the API's error
    envelope `{"type":"error","error":{"type":error_type,"message":…}}`; the message must
    contain every string in `mentions` (the offending field, the unknown id, …)."""
    with pytest.raises(anthropic.APIStatusError) as info:
        yield info
    error = info.value
    assert type(error) is exception, f"expected {exception.__name__}, got {type(error).__name__}: {error}"
    assert error.status_code == status
    body = error.response.json()
    assert body.get("type") == "error", body
    assert isinstance(body.get("error"), dict), body
    assert body["error"].get("type") == error_type, body
    message = body["error"].get("message")
    assert isinstance(message, str) and message, body
    for mention in mentions:
        assert mention in message, f"error message {message!r} does not mention {mention!r}"
    assert error.type == error_type
    assert error.api_message == message


class StreamReader:
    """Opens the SDK stream on the calling thread (so it is connected when this returns) and
    reads it on a background thread into a queue."""

    def __init__(self, client: anthropic.Anthropic, session_id: str, **options: Any) -> None:
        self.stream = client.beta.sessions.events.stream(session_id, **options)
        self.items: "queue.Queue[Any]" = queue.Queue()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.stream:
                self.items.put(event)
        except BaseException as error:  # the connection closes under us when the test ends
            self.error = error
        finally:
            self.items.put(_END)

    def next(self, timeout: float = WAIT):
        try:
            item = self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event arrived on the stream within {timeout}s") from None
        assert item is not _END, f"stream ended early (error: {self.error!r})"
        return item

    def take(self, count: int) -> list:
        return [self.next() for _ in range(count)]

    def assert_quiet(self, seconds: float = 0.6) -> None:
        try:
            item = self.items.get(timeout=seconds)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected item on the stream: {item!r}")

    def close(self) -> None:
        self.stream.close()
        self.thread.join(WAIT)


# -- agent runtime ------------------------------------------------------------------------------

TOOLSET = [{"type": "agent_toolset_20260401"}]
TURN_TIMEOUT = 20.0


def wait_for(client: anthropic.Anthropic, session_id: str, done: Callable[[list], bool], timeout: float = TURN_TIMEOUT) -> list:
    """Polls the session's log (parsed strictly) until `done(events)` holds."""
    deadline = time.monotonic() + timeout
    while True:
        events = list(client.beta.sessions.events.list(session_id, limit=1000))
        if done(events):
            return events
        assert time.monotonic() < deadline, f"timed out; log: {[event.type for event in events]}"
        time.sleep(0.05)


def idle_count(events: list) -> int:
    return sum(1 for event in events if event.type == "session.status_idle")


def runtime_session(client: anthropic.Anthropic, **agent_fields):
    agent = make_agent(client, tools=TOOLSET, **agent_fields)
    return client.beta.sessions.create(agent=agent.id, environment_id=make_environment(client).id)
