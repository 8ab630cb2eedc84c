"""Agents: create, retrieve (with `version`), versioned updates, optimistic concurrency,
listing with filters and pagination, archive, and the versions list."""

from __future__ import annotations

import datetime as dt
import threading
import time

import anthropic
import pytest

from support import MODEL, all_pages, expect_error, ids, make_agent, make_environment, unique

TOOLS = [
    {
        "type": "agent_toolset_20260401",
        "configs": [{"name": "bash", "enabled": True, "permission_policy": {"type": "always_ask"}}],
        "default_config": {"enabled": True, "permission_policy": {"type": "always_allow"}},
    },
    {
        "type": "custom",
        "name": "lookup_order",
        "description": "Look an order up by id.",
        "input_schema": {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]},
    },
    {"type": "mcp_toolset", "mcp_server_name": "docs"},
]
MCP_SERVERS = [{"type": "url", "name": "docs", "url": "https://mcp.example.com/sse"}]


def test_create_returns_the_agent_as_configured(client: anthropic.Anthropic) -> None:
    agent = client.beta.agents.create(
        name="Support bot",
        model=MODEL,
        description="Answers order questions.",
        system="You are terse.",
        tools=TOOLS,
        mcp_servers=MCP_SERVERS,
        metadata={"team": "support", "tier": "1"},
    )
    assert agent.id.startswith("agent_")
    assert agent.type == "agent"
    assert agent.version == 1
    assert agent.name == "Support bot"
    assert agent.description == "Answers order questions."
    assert agent.system == "You are terse."
    assert agent.model.id == MODEL
    assert agent.metadata == {"team": "support", "tier": "1"}
    assert agent.archived_at is None
    assert agent.created_at == agent.updated_at
    assert [tool.type for tool in agent.tools] == ["agent_toolset_20260401", "custom", "mcp_toolset"]
    toolset, custom, mcp = agent.tools
    bash = next(config for config in toolset.configs if config.name == "bash")
    assert bash.enabled is True and bash.permission_policy.type == "always_ask"
    assert toolset.default_config.permission_policy.type == "always_allow"
    assert custom.name == "lookup_order"
    assert custom.input_schema.properties == {"order_id": {"type": "string"}}
    assert custom.input_schema.required == ["order_id"]
    assert mcp.mcp_server_name == "docs"
    assert [(server.name, server.url) for server in agent.mcp_servers] == [("docs", "https://mcp.example.com/sse")]

    fetched = client.beta.agents.retrieve(agent.id)
    assert fetched.model_dump() == agent.model_dump()


def test_minimal_agent_has_defaults(client: anthropic.Anthropic) -> None:
    agent = client.beta.agents.create(name="minimal", model=MODEL)
    assert agent.tools == [] and agent.mcp_servers == [] and agent.skills == []
    assert agent.metadata == {}
    assert agent.system is None and agent.description is None
    assert agent.execution_identity.type == "service_account"


def test_each_update_makes_a_new_version_and_old_versions_stay_readable(client: anthropic.Anthropic) -> None:
    agent = make_agent(client, system="v1 prompt")
    second = client.beta.agents.update(agent.id, system="v2 prompt")
    assert second.version == 2 and second.system == "v2 prompt"
    assert second.created_at == agent.created_at
    assert second.updated_at > agent.updated_at
    third = client.beta.agents.update(agent.id, name="renamed", version=2)
    assert third.version == 3 and third.name == "renamed" and third.system == "v2 prompt"

    assert client.beta.agents.retrieve(agent.id).version == 3
    first = client.beta.agents.retrieve(agent.id, version=1)
    assert first.version == 1 and first.system == "v1 prompt" and first.name == agent.name
    assert client.beta.agents.retrieve(agent.id, version=2).system == "v2 prompt"
    assert client.beta.agents.retrieve(agent.id, version=3).name == "renamed"


def test_update_that_changes_nothing_keeps_the_version(client: anthropic.Anthropic) -> None:
    agent = make_agent(client, system="same", metadata={"k": "v"})
    same = client.beta.agents.update(agent.id, system="same", name=agent.name, metadata={"k": "v"})
    assert same.version == 1
    assert same.updated_at == agent.updated_at
    empty = client.beta.agents.update(agent.id)
    assert empty.version == 1
    versions = client.beta.agents.versions.list(agent.id)
    assert [item.version for item in versions.data] == [1]


def test_update_with_stale_version_is_a_conflict(client: anthropic.Anthropic) -> None:
    agent = make_agent(client, system="one")
    client.beta.agents.update(agent.id, system="two", version=1)
    with expect_error(anthropic.ConflictError, 409, "conflict_error", agent.id):
        client.beta.agents.update(agent.id, system="three", version=1)
    current = client.beta.agents.retrieve(agent.id)
    assert current.version == 2 and current.system == "two"
    assert client.beta.agents.update(agent.id, system="three", version=2).version == 3


def test_concurrent_updates_with_the_same_version_let_exactly_one_win(server, client: anthropic.Anthropic) -> None:
    agent = make_agent(client, system="start")
    results: list[object] = [None] * 8
    barrier = threading.Barrier(len(results))

    def update(index: int) -> None:
        own = server.client()
        barrier.wait()
        try:
            results[index] = own.beta.agents.update(agent.id, system=f"writer {index}", version=1)
        except anthropic.APIStatusError as error:
            results[index] = error

    threads = [threading.Thread(target=update, args=(index,)) for index in range(len(results))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [result for result in results if isinstance(result, anthropic.types.beta.BetaManagedAgentsAgent)]
    losers = [result for result in results if isinstance(result, anthropic.ConflictError)]
    assert len(winners) == 1 and len(losers) == len(results) - 1, results
    assert winners[0].version == 2
    current = client.beta.agents.retrieve(agent.id)
    assert current.version == 2 and current.system == winners[0].system
    assert [item.version for item in client.beta.agents.versions.list(agent.id)] == [2, 1]


def test_update_patches_metadata_and_clears_fields(client: anthropic.Anthropic) -> None:
    agent = make_agent(client, system="prompt", description="desc", metadata={"keep": "1", "drop": "2"})
    updated = client.beta.agents.update(agent.id, metadata={"drop": None, "add": "3"}, description=None, system="")
    assert updated.metadata == {"keep": "1", "add": "3"}
    assert updated.description in (None, "")
    assert updated.system in (None, "")
    assert updated.version == 2


def test_list_paginates_without_gaps_or_duplicates(client: anthropic.Anthropic) -> None:
    created = [make_agent(client).id for _ in range(5)]
    everything = client.beta.agents.list(limit=100)
    assert everything.next_page is None
    pages = all_pages(client.beta.agents.list(limit=2))
    assert all(len(page.data) <= 2 for page in pages)
    assert all(page.next_page for page in pages[:-1]) and pages[-1].next_page is None
    walked = [agent.id for page in pages for agent in page.data]
    assert walked == ids(everything.data)
    assert len(set(walked)) == len(walked)
    assert set(created) <= set(walked)
    # The SDK's auto-pagination reaches the same agents.
    assert [agent.id for agent in client.beta.agents.list(limit=3)] == walked


def test_list_excludes_archived_unless_asked(client: anthropic.Anthropic) -> None:
    archived = make_agent(client)
    live = make_agent(client)
    client.beta.agents.archive(archived.id)
    default_ids = [agent.id for agent in client.beta.agents.list(limit=100)]
    assert live.id in default_ids and archived.id not in default_ids
    with_archived = list(client.beta.agents.list(limit=100, include_archived=True))
    assert archived.id in ids(with_archived) and live.id in ids(with_archived)
    assert next(agent for agent in with_archived if agent.id == archived.id).archived_at is not None


def test_list_filters_by_created_at(client: anthropic.Anthropic) -> None:
    early = make_agent(client)
    time.sleep(0.01)
    late = make_agent(client)
    after = [agent.id for agent in client.beta.agents.list(limit=100, created_at_gte=late.created_at)]
    assert late.id in after and early.id not in after
    before = [agent.id for agent in client.beta.agents.list(limit=100, created_at_lte=early.created_at)]
    assert early.id in before and late.id not in before
    window = client.beta.agents.list(
        limit=100, created_at_gte=early.created_at, created_at_lte=late.created_at
    )
    assert {early.id, late.id} <= set(ids(window.data))
    future = client.beta.agents.list(created_at_gte=late.created_at + dt.timedelta(hours=1))
    assert future.data == []


def test_archive_makes_the_agent_read_only(client: anthropic.Anthropic) -> None:
    agent = make_agent(client, system="frozen")
    archived = client.beta.agents.archive(agent.id)
    assert archived.archived_at is not None
    assert archived.version == 1 and archived.system == "frozen"
    assert client.beta.agents.retrieve(agent.id).archived_at == archived.archived_at
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", agent.id):
        client.beta.agents.update(agent.id, system="thawed")
    assert client.beta.agents.retrieve(agent.id).system == "frozen"
    environment = make_environment(client)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "agent"):
        client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    # Archiving again is harmless and keeps the original time.
    assert client.beta.agents.archive(agent.id).archived_at == archived.archived_at


def test_versions_list_paginates(client: anthropic.Anthropic) -> None:
    agent = make_agent(client, system="s1")
    for number in (2, 3, 4):
        assert client.beta.agents.update(agent.id, system=f"s{number}").version == number
    pages = all_pages(client.beta.agents.versions.list(agent.id, limit=1))
    assert len(pages) == 4
    versions = [item for page in pages for item in page.data]
    numbers = [item.version for item in versions]
    assert sorted(numbers) == [1, 2, 3, 4]
    assert numbers in ([1, 2, 3, 4], [4, 3, 2, 1])
    for item in versions:
        assert item.id == agent.id
        assert item.system == f"s{item.version}"
        assert item.model_dump() == client.beta.agents.retrieve(agent.id, version=item.version).model_dump()
    assert [item.version for item in client.beta.agents.versions.list(agent.id, limit=3)] == numbers


def test_unknown_agent_and_version_are_not_found(client: anthropic.Anthropic) -> None:
    agent = make_agent(client)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "agent_doesnotexist"):
        client.beta.agents.retrieve("agent_doesnotexist")
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", agent.id):
        client.beta.agents.retrieve(agent.id, version=7)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "version"):
        client.beta.agents.retrieve(agent.id, version=0)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "agent_doesnotexist"):
        client.beta.agents.update("agent_doesnotexist", system="x")
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "agent_doesnotexist"):
        client.beta.agents.archive("agent_doesnotexist")
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "agent_doesnotexist"):
        client.beta.agents.versions.list("agent_doesnotexist")


def test_invalid_agent_fields_name_the_field(client: anthropic.Anthropic) -> None:
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "name"):
        client.beta.agents.create(name="", model=MODEL)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "tools[0]"):
        client.beta.agents.create(name=unique("bad"), model=MODEL, tools=[{"type": "no_such_toolset"}])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "mcp_servers"):
        # A server no mcp_toolset references is rejected.
        client.beta.agents.create(name=unique("bad"), model=MODEL, mcp_servers=MCP_SERVERS)
