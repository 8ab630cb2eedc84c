"""Durability: a graceful restart keeps every resource, and `kill -9` in the middle of a
burst of event sends loses no acknowledged event."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import anthropic

from support import StreamReader, all_pages, make_agent, make_environment, make_session, text, user_message


def snapshot(client: anthropic.Anthropic, agent_ids, environment_ids, session_ids) -> dict:
    """Everything the API says about the given resources, as plain data."""
    state: dict = {"agents": {}, "versions": {}, "environments": {}, "sessions": {}, "events": {}}
    for agent_id in agent_ids:
        state["agents"][agent_id] = client.beta.agents.retrieve(agent_id).model_dump()
        state["versions"][agent_id] = [item.model_dump() for item in client.beta.agents.versions.list(agent_id, limit=100)]
    for environment_id in environment_ids:
        state["environments"][environment_id] = client.beta.environments.retrieve(environment_id).model_dump()
    for session_id in session_ids:
        # `stats` holds durations measured against the clock, so it is left out.
        state["sessions"][session_id] = client.beta.sessions.retrieve(session_id).model_dump(exclude={"stats"})
        state["events"][session_id] = [event.model_dump() for event in client.beta.sessions.events.list(session_id, limit=1000)]
    state["agent_list"] = [agent.id for agent in client.beta.agents.list(limit=100, include_archived=True)]
    state["environment_list"] = [item.id for item in client.beta.environments.list(limit=100, include_archived=True)]
    state["session_list"] = [item.id for item in client.beta.sessions.list(limit=100, include_archived=True)]
    return state


def test_restart_keeps_everything(make_server) -> None:
    server = make_server()
    client = server.client()
    agent = make_agent(client, system="v1", metadata={"team": "a"}, tools=[{"type": "agent_toolset_20260401"}])
    client.beta.agents.update(agent.id, system="v2")
    client.beta.agents.update(agent.id, system="v3", metadata={"team": None, "owner": "b"})
    retired = make_agent(client)
    client.beta.agents.archive(retired.id)

    cloud = make_environment(
        client,
        config={
            "type": "cloud",
            "networking": {"type": "limited", "allowed_hosts": ["example.com"], "allow_package_managers": True},
            "packages": {"pip": ["rich"]},
        },
        metadata={"region": "home"},
    )
    self_hosted = make_environment(client, config={"type": "self_hosted"})
    archived_environment = make_environment(client)
    client.beta.environments.archive(archived_environment.id)
    deleted_environment = make_environment(client)
    client.beta.environments.delete(deleted_environment.id)

    pinned = client.beta.sessions.create(
        agent={"type": "agent", "id": agent.id, "version": 1},
        environment_id=cloud.id,
        title="pinned",
        metadata={"m": "1"},
        initial_events=[user_message("hello")],
    )
    client.beta.sessions.events.send(
        pinned.id, events=[user_message("more"), {"type": "system.message", "content": [text("sys")]}]
    )
    client.beta.sessions.update(pinned.id, title="renamed", metadata={"m": None, "n": "2"})
    own = make_session(client, agent=agent.id, environment_id=self_hosted.id)
    client.beta.sessions.events.send(own.id, events=[{"type": "user.tool_result", "tool_use_id": "sevt_t1", "content": [text("ok")]}])
    archived_session = make_session(client, agent=agent.id, environment_id=cloud.id)
    client.beta.sessions.archive(archived_session.id)
    deleted_session = make_session(client, agent=agent.id, environment_id=cloud.id)
    client.beta.sessions.delete(deleted_session.id)
    sessions_page = client.beta.sessions.list(limit=1, order="asc")
    assert sessions_page.next_page

    agent_ids = [agent.id, retired.id]
    environment_ids = [cloud.id, self_hosted.id, archived_environment.id]
    session_ids = [pinned.id, own.id, archived_session.id]
    before = snapshot(client, agent_ids, environment_ids, session_ids)

    server.restart()
    client = server.client()
    after = snapshot(client, agent_ids, environment_ids, session_ids)
    assert after == before

    # Deleted resources stay deleted, and archived ones stay read-only.
    for call in (
        lambda: client.beta.environments.retrieve(deleted_environment.id),
        lambda: client.beta.sessions.retrieve(deleted_session.id),
    ):
        try:
            call()
            raise AssertionError("a deleted resource came back after restart")
        except anthropic.NotFoundError:
            pass
    try:
        client.beta.agents.update(retired.id, system="x")
        raise AssertionError("an archived agent became writable after restart")
    except anthropic.BadRequestError:
        pass

    # A cursor issued before the restart still works, and the data keeps growing where it left off.
    assert client.beta.sessions.list(limit=1, order="asc", page=sessions_page.next_page).data
    assert client.beta.agents.update(agent.id, system="v4").version == 4
    added = client.beta.sessions.events.send(pinned.id, events=[user_message("after restart")]).data
    log = client.beta.sessions.events.list(pinned.id, limit=1000).data
    assert [event.model_dump() for event in log[:-1]] == before["events"][pinned.id]
    assert log[-1].id == added[0].id


def test_sigterm_with_an_open_stream_exits_promptly(make_server) -> None:
    server = make_server()
    client = server.client()
    session = make_session(client)
    stream = client.beta.sessions.events.stream(session.id)
    try:
        # The open stream would keep a server that waited for it running for good; stop() fails
        # when the process has not exited within the timeout.
        status = server.stop(timeout=30)
        assert status == 0, server.log_tail()
    finally:
        stream.close()


MARK = re.compile(r"^t(\d+)-(\d+)-([ab])$")


@dataclass
class Sender:
    """One thread's record of what it sent: per request number, the session, and the event
    ids the server acknowledged (None while unacknowledged)."""

    number: int
    attempted: dict = field(default_factory=dict)  # request number -> session id
    acknowledged: dict = field(default_factory=dict)  # request number -> [event ids]
    error: BaseException | None = None


def burst(server, sessions: list[str], threads: int, minimum_acks: int) -> list[Sender]:
    """Sends pairs of events from `threads` threads until `kill -9` stops the server."""
    senders = [Sender(number) for number in range(threads)]
    stop = threading.Event()

    def run(sender: Sender) -> None:
        client = server.client(timeout=10.0)
        request = 0
        while not stop.is_set():
            session_id = sessions[(sender.number + request) % len(sessions)]
            sender.attempted[request] = session_id
            events = [user_message(f"t{sender.number}-{request}-a"), user_message(f"t{sender.number}-{request}-b")]
            try:
                sent = client.beta.sessions.events.send(session_id, events=events).data
            except Exception as error:  # the kill surfaces as APIConnectionError; anything else fails the test below
                sender.error = error
                return
            sender.acknowledged[request] = [event.id for event in sent]
            request += 1

    workers = [threading.Thread(target=run, args=(sender,), daemon=True) for sender in senders]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 20
    while sum(len(sender.acknowledged) for sender in senders) < minimum_acks:
        assert time.monotonic() < deadline, "the burst made too little progress"
        assert all(worker.is_alive() for worker in workers), [repr(sender.error) for sender in senders]
        time.sleep(0.01)
    assert all(worker.is_alive() for worker in workers), [repr(sender.error) for sender in senders]
    server.kill()
    stop.set()
    for worker in workers:
        worker.join(15)
        assert not worker.is_alive()
    for sender in senders:
        assert sender.error is None or isinstance(sender.error, anthropic.APIConnectionError), (
            f"thread {sender.number} failed with something other than the lost connection: {sender.error!r}"
        )
    return senders


def check_log(client: anthropic.Anthropic, sessions: list[str], senders: list[Sender]) -> dict:
    """Every acknowledged event is in the log once, in order, with its request's partner;
    only the request in flight at the kill may be there unacknowledged. Returns the logs."""
    logs = {}
    for session_id in sessions:
        pages = all_pages(client.beta.sessions.events.list(session_id, limit=1000))
        log = [event for page in pages for event in page.data]
        logs[session_id] = log
        assert len({event.id for event in log}) == len(log), "an event appears twice"
        descending = [event.id for event in client.beta.sessions.events.list(session_id, limit=1000, order="desc")]
        assert descending == [event.id for event in reversed(log)]

        # Both events of a request are present together and adjacent (the append is atomic).
        seen: dict[tuple[int, int], list[int]] = defaultdict(list)
        for position, event in enumerate(log):
            match = MARK.match(event.content[0].text)
            assert match, f"unexpected event in the log: {event!r}"
            thread, request, part = int(match.group(1)), int(match.group(2)), match.group(3)
            assert senders[thread].attempted.get(request) == session_id, f"{event.content[0].text} was never sent here"
            seen[(thread, request)].append(position)
            if part == "b":
                assert position > 0 and log[position - 1].content[0].text == f"t{thread}-{request}-a"
        assert all(len(positions) == 2 for positions in seen.values()), "a request was half applied"

        for sender in senders:
            present = sorted((positions[0], request) for (thread, request), positions in seen.items() if thread == sender.number)
            requests = [request for _, request in present]
            assert requests == sorted(requests), f"thread {sender.number}'s requests are out of order in {session_id}"
            acknowledged_here = {request for request, sid in sender.attempted.items() if sid == session_id and request in sender.acknowledged}
            missing = acknowledged_here - set(requests)
            assert not missing, f"acknowledged requests {sorted(missing)} of thread {sender.number} were lost"
            extra = set(requests) - acknowledged_here
            in_flight = {max(sender.attempted)} if sender.attempted and max(sender.attempted) not in sender.acknowledged else set()
            assert extra <= in_flight, f"unacknowledged requests {sorted(extra)} of thread {sender.number} are in the log"
            for request in acknowledged_here:
                position = seen[(sender.number, request)][0]
                assert [log[position].id, log[position + 1].id] == sender.acknowledged[request]
    return logs


def test_kill_9_during_a_burst_loses_no_acknowledged_event(make_server) -> None:
    server = make_server()
    client = server.client()
    environment = make_environment(client)
    agent = make_agent(client)
    for _ in range(2):  # crash twice, each time on fresh sessions
        sessions = [make_session(client, agent=agent.id, environment_id=environment.id).id for _ in range(3)]
        senders = burst(server, sessions, threads=6, minimum_acks=120)
        acknowledged = sum(len(sender.acknowledged) for sender in senders)
        server.start()
        client = server.client()
        logs = check_log(client, sessions, senders)
        assert sum(len(log) for log in logs.values()) >= 2 * acknowledged

    # The stream replays the recovered log from any point, in the same order as the list.
    log = logs[sessions[0]]
    middle = len(log) // 2
    reader = StreamReader(client, sessions[0], extra_headers={"Last-Event-ID": log[middle].id})
    try:
        assert [event.id for event in reader.take(len(log) - middle - 1)] == [event.id for event in log[middle + 1 :]]
        reader.assert_quiet(0.3)
    finally:
        reader.close()

    # After the crashes the server accepts and logs new events after the old ones.
    added = client.beta.sessions.events.send(sessions[0], events=[user_message("after the crash")]).data
    log = client.beta.sessions.events.list(sessions[0], limit=1000, order="desc").data
    assert log[0].id == added[0].id
    assert len(log) == len(logs[sessions[0]]) + 1


def _message_text(event) -> str:
    return "".join(block.text for block in event.content if block.type == "text")


def _wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# The specialist's first model call is held at the mock for good, so the kill always lands
# while the thread runs; its retry after the restart is answered.
THREAD_SCENARIO = {
    "rules": [
        {"name": "coord-start", "system_contains": "You coordinate", "last_user_contains": "Long job",
         "reply": [{"type": "tool_use", "name": "start_thread", "input": {"agent": "slow", "task": "A long job."}}]},
        {"name": "coord-wait", "system_contains": "You coordinate", "last_user_regex": "Started thread|Stopped waiting|server restart",
         "reply": [{"type": "tool_use", "name": "wait_for_threads", "input": {}}]},
        {"name": "coord-done", "system_contains": "You coordinate", "last_user_contains": "finished:", "reply": "Resumed and done."},
        {"name": "slow", "system_contains": "You are slow", "hold": "never", "times": 1, "reply": "too late"},
        {"name": "slow-again", "system_contains": "You are slow", "reply": "long job done"},
    ],
    "fallback": {"reply": "ok"},
}


def test_kill_9_while_a_thread_runs_resumes_it(make_server, mock_llm) -> None:
    mock = mock_llm(THREAD_SCENARIO)
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    slow = make_agent(client, name="slow", system="You are slow.", tools=[{"type": "agent_toolset_20260401"}])
    lead = make_agent(client, name="lead", system="You coordinate one.", multiagent={"type": "coordinator", "agents": [slow.id]})
    session = client.beta.sessions.create(agent=lead.id, environment_id=make_environment(client).id)
    client.beta.sessions.events.send(session.id, events=[user_message("Long job")])
    _wait_until(lambda: mock.held("never") == 1, 60, "the thread's model call")

    server.kill()
    server.start()
    client = server.client()

    def coordinator_done() -> bool:
        events = client.beta.sessions.events.list(session.id, limit=1000).data
        return any(e.type == "agent.message" and getattr(e, "session_thread_id", None) is None
                   and _message_text(e) == "Resumed and done." for e in events)

    _wait_until(coordinator_done, 60, "the coordinator to finish after the restart")
    events = client.beta.sessions.events.list(session.id, limit=1000).data
    threads = {e.session_thread_id for e in events if e.type == "session.thread_created"}
    assert len(threads) == 1
    thread_id = threads.pop()
    own = [e for e in events if getattr(e, "session_thread_id", None) == thread_id]
    assert any(e.type == "agent.message" and _message_text(e) == "long job done" for e in own)
    assert [r["rule"] for r in mock.requests()].count("slow-again") == 1
    # The coordinator's last message and its status_idle are two appends: wait for the second
    # (on PostgreSQL the gap between them is wider than on SQLite).
    _wait_until(lambda: client.beta.sessions.retrieve(session.id).status == "idle", 30, "the session to go idle")


DREAM_EXTRACT = {"candidates": [{"kind": "workflow", "text": "Run the tests first.", "evidence": [{"session": "S1", "events": ["e1"]}]}]}
DREAM_CURATE = {"operations": [{"op": "add", "path": "/lessons/tests.md", "content": "Run the tests first.", "rationale": "asked for",
                                "evidence": [{"session": "S1", "events": ["e1"]}]}]}


def test_kill_9_while_a_dream_runs_resumes_it(make_server, mock_llm) -> None:
    mock = mock_llm({
        "rules": [
            # The first extract call is held for good: the kill lands while the dream runs.
            {"name": "extract-held", "system_contains": "propose lessons", "hold": "never", "times": 1, "reply": "{}"},
            {"name": "extract", "system_contains": "propose lessons", "reply": json.dumps(DREAM_EXTRACT)},
            {"name": "curate", "system_contains": "You maintain a memory store", "reply": json.dumps(DREAM_CURATE)},
        ],
        "fallback": {"reply": "ok"},
    })
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    store = client.beta.memory_stores.create(name="team")
    session = make_session(client)
    client.beta.sessions.events.send(session.id, events=[user_message("please run the tests first")])
    _wait_until(lambda: client.beta.sessions.retrieve(session.id).status == "idle", 60, "the session to go idle")
    dream = client.beta.dreams.create(
        inputs=[{"type": "memory_store", "memory_store_id": store.id}, {"type": "sessions", "session_ids": [session.id]}],
        model="claude-dreamer",
    )
    _wait_until(lambda: mock.held("never") == 1, 60, "the dream's first model call")
    assert client.beta.dreams.retrieve(dream.id).status == "running"

    server.kill()
    server.start()
    client = server.client()
    _wait_until(lambda: client.beta.dreams.retrieve(dream.id).status in ("completed", "failed", "canceled"), 60,
                "the dream to end after the restart")
    done = client.beta.dreams.retrieve(dream.id)
    assert done.status == "completed", done.error
    output = done.outputs[0].memory_store_id
    paths = {m.path for m in client.beta.memory_stores.memories.list(output, path_prefix="/lessons/")}
    assert paths == {"/lessons/tests.md"}
    assert [r["rule"] for r in mock.requests()].count("extract") >= 1
