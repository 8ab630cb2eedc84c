"""Conformance of memory stores, memories and memory versions, through the official SDK
(`client.beta.memory_stores`) against a live `reverie serve`, with strict response validation."""

from __future__ import annotations

import hashlib
import threading

import anthropic
import pytest
from anthropic.types.beta.memory_stores import BetaManagedAgentsMemory, BetaManagedAgentsMemoryPrefix

from conftest import ReverieServer

API_KEY = "rvk_memory_conformance_key"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _error_type(error: anthropic.APIStatusError) -> str:
    return error.response.json()["error"]["type"]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory):
    """A server of this module's own (with its runtime, so sessions mount stores for real),
    started like every conformance server: a clean environment (none of the caller's
    `ANTHROPIC_*`/`REVERIE_*` variables), its port read from standard output, standard error
    logged. It must exit cleanly on SIGTERM with no error in its log."""
    server = ReverieServer(tmp_path_factory.mktemp("reverie-memory") / "data", api_key=API_KEY, runtime=True).start()
    try:
        yield server.base_url
    finally:
        status = server.stop() if server.running else server.process.returncode if server.process else None
        server.close()
    log = server.log_path.read_text(encoding="utf-8", errors="replace")
    assert status == 0, f"reverie exited with status {status} on SIGTERM\n{server.log_tail()}"
    errors = [line for line in log.splitlines() if " error " in line.lower() or " critical " in line.lower()]
    assert not errors, "reverie logged errors:\n" + "\n".join(errors[-20:])


@pytest.fixture()
def client(server_url):
    return anthropic.Anthropic(base_url=server_url, api_key=API_KEY, _strict_response_validation=True, max_retries=0)


@pytest.fixture()
def store(client):
    return client.beta.memory_stores.create(name="Conformance Store", description="for tests", metadata={"suite": "memory"})


# Stores


def test_store_crud_archive_delete(client):
    created = client.beta.memory_stores.create(name="Prefs", description="likes", metadata={"owner": "u1"})
    assert created.id.startswith("memstore_")
    assert created.type == "memory_store"
    assert created.archived_at is None
    assert created.metadata == {"owner": "u1"}
    assert client.beta.memory_stores.retrieve(created.id) == created

    updated = client.beta.memory_stores.update(created.id, name="Preferences", description="", metadata={"owner": None, "k": "v"})
    assert updated.name == "Preferences"
    assert updated.description == ""
    assert updated.metadata == {"k": "v"}
    assert updated.updated_at >= created.updated_at

    archived = client.beta.memory_stores.archive(created.id)
    assert archived.archived_at is not None
    assert client.beta.memory_stores.archive(created.id).archived_at == archived.archived_at
    with pytest.raises(anthropic.BadRequestError):
        client.beta.memory_stores.update(created.id, name="nope")
    with pytest.raises(anthropic.BadRequestError):
        client.beta.memory_stores.memories.create(created.id, path="/a.md", content="x")

    active_ids = [s.id for s in client.beta.memory_stores.list(limit=100)]
    assert created.id not in active_ids
    all_ids = [s.id for s in client.beta.memory_stores.list(include_archived=True, limit=100)]
    assert created.id in all_ids

    deleted = client.beta.memory_stores.delete(created.id)
    assert deleted.id == created.id and deleted.type == "memory_store_deleted"
    with pytest.raises(anthropic.NotFoundError):
        client.beta.memory_stores.retrieve(created.id)


def test_store_validation(client):
    with pytest.raises(anthropic.BadRequestError) as error:
        client.beta.memory_stores.create(name="")
    assert "name" in str(error.value)
    with pytest.raises(anthropic.BadRequestError):
        client.beta.memory_stores.create(name="x" * 256)
    with pytest.raises(anthropic.BadRequestError):
        client.beta.memory_stores.create(name="ok", description="d" * 1025)


def test_store_list_pagination(client):
    created = [client.beta.memory_stores.create(name=f"page-{i}") for i in range(5)]
    ids = [s.id for s in created]
    first = client.beta.memory_stores.list(limit=2)
    assert len(first.data) == 2
    assert first.next_page
    collected = []
    for item in client.beta.memory_stores.list(limit=2):
        collected.append(item.id)
    for store_id in ids:
        assert store_id in collected
    assert len(collected) == len(set(collected))
    # Newest first.
    assert collected.index(ids[4]) < collected.index(ids[0])
    with pytest.raises(anthropic.BadRequestError):
        client.beta.memory_stores.list(limit=101)
    since = [s.id for s in client.beta.memory_stores.list(created_at_gte=created[2].created_at, limit=100)]
    assert sorted(since) == sorted(ids[2:])
    until = [s.id for s in client.beta.memory_stores.list(created_at_lte=created[1].created_at, limit=100)]
    assert ids[0] in until and ids[1] in until and ids[2] not in until


# Memories


def test_memory_create_retrieve_update_delete(client, store):
    memories = client.beta.memory_stores.memories
    created = memories.create(store.id, path="/notes/todo.md", content="buy milk")
    assert created.id.startswith("mem_")
    assert created.memory_version_id.startswith("memver_")
    assert created.content is None  # view defaults to basic on create
    assert created.content_sha256 == _sha("buy milk")
    assert created.content_size_bytes == len("buy milk".encode())
    assert created.memory_store_id == store.id

    full = memories.retrieve(created.id, memory_store_id=store.id)
    assert full.content == "buy milk"
    basic = memories.retrieve(created.id, memory_store_id=store.id, view="basic")
    assert basic.content is None and basic.content_sha256 == full.content_sha256

    with_content = memories.create(store.id, path="/notes/é.md", content="ünïcode ✓", view="full")
    assert with_content.content == "ünïcode ✓"
    assert with_content.content_size_bytes == len("ünïcode ✓".encode())

    updated = memories.update(
        created.id, memory_store_id=store.id, content="buy oat milk", path="/notes/shopping.md",
        precondition={"type": "content_sha256", "content_sha256": _sha("buy milk")}, view="full",
    )
    assert updated.id == created.id
    assert updated.path == "/notes/shopping.md"
    assert updated.content == "buy oat milk"
    assert updated.memory_version_id != created.memory_version_id

    empty = memories.create(store.id, path="/empty", content="")
    assert empty.content_size_bytes == 0 and empty.content_sha256 == _sha("")

    deleted = memories.delete(created.id, memory_store_id=store.id, expected_content_sha256=_sha("buy oat milk"))
    assert deleted.id == created.id and deleted.type == "memory_deleted"
    with pytest.raises(anthropic.NotFoundError):
        memories.retrieve(created.id, memory_store_id=store.id)


def test_precondition_and_path_conflicts(client, store):
    memories = client.beta.memory_stores.memories
    memory = memories.create(store.id, path="/a.md", content="v1")
    with pytest.raises(anthropic.ConflictError) as error:
        memories.update(memory.id, memory_store_id=store.id, content="v2",
                        precondition={"type": "content_sha256", "content_sha256": _sha("not v1")})
    assert error.value.status_code == 409
    assert _error_type(error.value) == "memory_precondition_failed_error"
    assert memories.retrieve(memory.id, memory_store_id=store.id).content == "v1"

    with pytest.raises(anthropic.ConflictError) as error:
        memories.delete(memory.id, memory_store_id=store.id, expected_content_sha256=_sha("not v1"))
    assert _error_type(error.value) == "memory_precondition_failed_error"

    with pytest.raises(anthropic.ConflictError) as error:
        memories.create(store.id, path="/a.md", content="again")
    assert _error_type(error.value) == "memory_path_conflict_error"
    other = memories.create(store.id, path="/b.md", content="b")
    with pytest.raises(anthropic.ConflictError) as error:
        memories.update(other.id, memory_store_id=store.id, path="/a.md")
    assert _error_type(error.value) == "memory_path_conflict_error"
    # Paths are case-sensitive.
    memories.create(store.id, path="/A.md", content="upper")


def test_racing_conditional_updates_exactly_one_wins(client, store):
    memories = client.beta.memory_stores.memories
    for round_number in range(5):
        memory = memories.create(store.id, path=f"/race/{round_number}", content="base")
        barrier = threading.Barrier(2)
        outcomes: list[object] = [None, None]

        def writer(index: int) -> None:
            barrier.wait()
            try:
                outcomes[index] = memories.update(
                    memory.id, memory_store_id=store.id, content=f"writer {index}",
                    precondition={"type": "content_sha256", "content_sha256": memory.content_sha256},
                )
            except anthropic.APIStatusError as error:
                outcomes[index] = error

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [o for o in outcomes if isinstance(o, BetaManagedAgentsMemory)]
        losers = [o for o in outcomes if isinstance(o, anthropic.APIStatusError)]
        assert len(winners) == 1 and len(losers) == 1
        assert losers[0].status_code == 409 and _error_type(losers[0]) == "memory_precondition_failed_error"
        final = memories.retrieve(memory.id, memory_store_id=store.id)
        assert final.content_sha256 == winners[0].content_sha256


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("notes.md", "start with '/'"),
        ("/a//b", "empty segments"),
        ("/a/", "empty segments"),
        ("/a/../b", "'.' or '..'"),
        ("/a/./b", "'.' or '..'"),
        ("/" + "x" * 1024, "1024 bytes"),
        ("/" + "/".join(["s"] * 21), "20 segments"),
        ("/a\u0007b", "control characters"),
        ("/a\u200bb", "format characters"),
        ("/a\u2028b", "U+2028"),
        ("/cafe\u0301", "Normalization Form C"),
    ],
)
def test_path_rules(client, store, path, rule):
    with pytest.raises(anthropic.BadRequestError) as error:
        client.beta.memory_stores.memories.create(store.id, path=path, content="x")
    assert _error_type(error.value) == "invalid_request_error"
    assert rule in error.value.response.json()["error"]["message"]


def test_content_limit(client, store):
    memories = client.beta.memory_stores.memories
    memories.create(store.id, path="/max", content="x" * 102_400)
    with pytest.raises(anthropic.BadRequestError) as error:
        memories.create(store.id, path="/too-big", content="x" * 102_401)
    assert "content" in error.value.response.json()["error"]["message"]


def test_list_prefix_depth_and_pagination(client, store):
    memories = client.beta.memory_stores.memories
    paths = ["/notes/todo.md", "/notes/2024/jan.md", "/notes/2024/feb.md", "/notes-archive/old.md", "/readme.md"]
    for path in paths:
        memories.create(store.id, path=path, content=path)

    everything = [m.path for m in memories.list(store.id, limit=2)]
    assert everything == sorted(paths, key=lambda p: p.encode())
    first = memories.list(store.id, limit=2)
    assert len(first.data) == 2 and first.next_page

    under_notes = [m.path for m in memories.list(store.id, path_prefix="/notes/")]
    assert under_notes == ["/notes/2024/feb.md", "/notes/2024/jan.md", "/notes/todo.md"]

    top = list(memories.list(store.id, depth=1, limit=1))
    assert [(type(i).__name__, i.path) for i in top] == [
        ("BetaManagedAgentsMemoryPrefix", "/notes-archive/"),
        ("BetaManagedAgentsMemoryPrefix", "/notes/"),
        ("BetaManagedAgentsMemory", "/readme.md"),
    ]
    assert all(isinstance(i, (BetaManagedAgentsMemory, BetaManagedAgentsMemoryPrefix)) for i in top)
    nested = [i.path for i in memories.list(store.id, path_prefix="/notes/", depth=1)]
    assert nested == ["/notes/2024/", "/notes/todo.md"]

    basic = memories.list(store.id, limit=100)
    assert all(m.content is None for m in basic.data)
    full = memories.list(store.id, view="full", limit=100)
    assert all(m.content == m.path for m in full.data)

    with pytest.raises(anthropic.BadRequestError):
        memories.list(store.id, path_prefix="/notes")
    with pytest.raises(anthropic.BadRequestError):
        memories.list(store.id, limit=0)


def test_full_view_pages_hold_at_most_twenty(client, store):
    memories = client.beta.memory_stores.memories
    for index in range(23):
        memories.create(store.id, path=f"/bulk/{index:02d}", content=str(index))
    page = memories.list(store.id, view="full", limit=100)
    assert len(page.data) == 20
    assert page.next_page
    assert len(memories.list(store.id, limit=100).data) == 23
    assert len(list(memories.list(store.id, view="full", limit=100))) == 23


def test_pinned_extension_round_trips(client, store):
    memories = client.beta.memory_stores.memories
    pinned = memories.create(store.id, path="/rules.md", content="be kind", extra_body={"pinned": True})
    assert pinned.pinned is True  # extra field, kept by the SDK's models
    assert memories.retrieve(pinned.id, memory_store_id=store.id).pinned is True
    plain = memories.create(store.id, path="/plain.md", content="x")
    assert plain.pinned is False
    unpinned = memories.update(pinned.id, memory_store_id=store.id, extra_body={"pinned": False})
    assert unpinned.pinned is False
    assert unpinned.memory_version_id == pinned.memory_version_id


# Versions


def test_versions_list_retrieve_and_redact(client, store):
    memories = client.beta.memory_stores.memories
    versions = client.beta.memory_stores.memory_versions
    memory = memories.create(store.id, path="/secret.md", content="token=abc")
    memories.update(memory.id, memory_store_id=store.id, content="token removed")
    memories.delete(memory.id, memory_store_id=store.id)

    history = list(versions.list(store.id, memory_id=memory.id))
    assert [v.operation for v in history] == ["deleted", "modified", "created"]
    assert all(v.content is None for v in history)  # view defaults to basic on list
    assert history[2].content_sha256 == _sha("token=abc")
    assert history[0].content_sha256 is None and history[0].path == "/secret.md"
    for version in history:
        assert version.created_by is not None
        assert version.created_by.type == "api_actor"
        assert version.created_by.api_key_id == "apikey_static"

    paged = list(versions.list(store.id, memory_id=memory.id, limit=1))
    assert [v.id for v in paged] == [v.id for v in history]
    full = versions.list(store.id, memory_id=memory.id, view="full")
    assert [v.content for v in full.data] == [None, "token removed", "token=abc"]
    assert [v.id for v in versions.list(store.id, memory_id=memory.id, operation="created")] == [memory.memory_version_id]
    assert [v.id for v in versions.list(store.id, memory_id=memory.id, api_key_id="apikey_static")] == [v.id for v in history]
    assert list(versions.list(store.id, memory_id=memory.id, session_id="sesn_none")) == []
    since = [v.id for v in versions.list(store.id, memory_id=memory.id, created_at_gte=history[1].created_at)]
    assert since == [history[0].id, history[1].id]
    until = [v.id for v in versions.list(store.id, memory_id=memory.id, created_at_lte=history[2].created_at)]
    assert until == [history[2].id]

    created = versions.retrieve(memory.memory_version_id, memory_store_id=store.id)
    assert created.content == "token=abc" and created.path == "/secret.md"
    assert versions.retrieve(memory.memory_version_id, memory_store_id=store.id, view="basic").content is None

    redacted = versions.redact(memory.memory_version_id, memory_store_id=store.id)
    assert redacted.redacted_at is not None
    assert redacted.redacted_by is not None and redacted.redacted_by.type == "api_actor"
    assert redacted.content is None and redacted.path is None
    assert redacted.content_sha256 is None and redacted.content_size_bytes is None
    assert redacted.created_by is not None and redacted.created_by.type == "api_actor"
    again = versions.retrieve(memory.memory_version_id, memory_store_id=store.id)
    assert again.redacted_at == redacted.redacted_at and again.content is None

    with pytest.raises(anthropic.NotFoundError):
        versions.retrieve("memver_missing", memory_store_id=store.id)


def test_redacting_current_version_keeps_memory(client, store):
    memories = client.beta.memory_stores.memories
    memory = memories.create(store.id, path="/keep.md", content="still here")
    client.beta.memory_stores.memory_versions.redact(memory.memory_version_id, memory_store_id=store.id)
    assert memories.retrieve(memory.id, memory_store_id=store.id).content == "still here"


# Reverie extensions and sessions


def test_usage_endpoint(client, store):
    memory = client.beta.memory_stores.memories.create(store.id, path="/used.md", content="x")
    usage = client.get(f"/v1/memory_stores/{store.id}/memories/{memory.id}/usage", cast_to=object)
    assert usage == {"data": [], "next_page": None}
    with pytest.raises(anthropic.NotFoundError):
        client.get(f"/v1/memory_stores/memstore_missing/memories/{memory.id}/usage", cast_to=object)


def test_sessions_mount_stores(client, store):
    agent = client.beta.agents.create(name="memory-agent", model="mock-model")
    environment = client.beta.environments.create(name="memory-env")
    session = client.beta.sessions.create(
        agent=agent.id, environment_id=environment.id,
        resources=[{"type": "memory_store", "memory_store_id": store.id, "access": "read_only"}],
    )
    resource = session.resources[0]
    assert resource.memory_store_id == store.id
    assert resource.name == store.name
    assert resource.description == store.description
    assert resource.mount_path == "/mnt/memory/conformance-store"
    listed = [s.id for s in client.beta.sessions.list(memory_store_id=store.id)]
    assert listed == [session.id]

    with pytest.raises(anthropic.BadRequestError) as error:
        client.beta.sessions.create(
            agent=agent.id, environment_id=environment.id,
            resources=[{"type": "memory_store", "memory_store_id": "memstore_missing"}],
        )
    assert "resources[0].memory_store_id" in error.value.response.json()["error"]["message"]


def test_session_resources_endpoints(client, store):
    """`client.beta.sessions.resources`: list, retrieve, detach; adding a file that does not
    exist and updating memory store attachments are refused with a clear error."""
    second = client.beta.memory_stores.create(name="Second Store", description="more")
    agent = client.beta.agents.create(name="resources-agent", model="mock-model")
    environment = client.beta.environments.create(name="resources-env")
    session = client.beta.sessions.create(
        agent=agent.id, environment_id=environment.id,
        resources=[
            {"type": "memory_store", "memory_store_id": store.id, "access": "read_only", "instructions": "Check first."},
            {"type": "memory_store", "memory_store_id": second.id},
        ],
    )
    resources = client.beta.sessions.resources
    listed = list(resources.list(session.id))
    assert [r.memory_store_id for r in listed] == [store.id, second.id]
    assert listed[0].access == "read_only" and listed[0].instructions == "Check first."
    first_page = resources.list(session.id, limit=1)
    assert [r.memory_store_id for r in first_page.data] == [store.id]
    assert [r.memory_store_id for r in first_page.get_next_page().data] == [second.id]
    assert resources.retrieve(second.id, session_id=session.id).memory_store_id == second.id

    with pytest.raises(anthropic.BadRequestError) as error:
        resources.add(session.id, type="file", file_id="file_123")
    assert "file 'file_123' not found" in error.value.response.json()["error"]["message"]
    with pytest.raises(anthropic.BadRequestError):
        resources.update(second.id, session_id=session.id, authorization_token="t")

    deleted = resources.delete(second.id, session_id=session.id)
    assert deleted.id == second.id and deleted.type == "session_resource_deleted"
    assert [r.memory_store_id for r in resources.list(session.id)] == [store.id]
    assert [r.memory_store_id for r in client.beta.sessions.retrieve(session.id).resources] == [store.id]
    assert [s.id for s in client.beta.sessions.list(memory_store_id=second.id)] == []
    with pytest.raises(anthropic.NotFoundError):
        resources.retrieve(second.id, session_id=session.id)
    with pytest.raises(anthropic.NotFoundError):
        resources.delete(second.id, session_id=session.id)
    with pytest.raises(anthropic.NotFoundError):
        resources.list("sesn_missing")
    # The store itself is untouched.
    assert client.beta.memory_stores.retrieve(second.id).archived_at is None
