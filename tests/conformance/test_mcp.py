"""MCP toolsets through the official SDK: an agent with `mcp_servers` and an `mcp_toolset`,
run by `reverie serve` against `reverie mock-llm`, calling the tools of a small streamable-HTTP
MCP server of the tests' own (`mcp_fixture.py`) with the session's vault credential. Every
response and event is validated strictly by the SDK's types."""

from __future__ import annotations

import json
import socket

import pytest

from mcp_fixture import MCPServer
from support import idle_count, make_environment, unique, user_message, wait_for

ALLOW = "--webhooks-allow-private"  # the MCP server is on loopback
TOKEN = "mcp-bearer-token-" + "7" * 12

SCENARIO = {
    "rules": [
        {"name": "call", "last_user_contains": "use the echo tool",
         "reply": [{"type": "text", "text": "Calling it."},
                   {"type": "tool_use", "name": "mcp__fixture__echo", "input": {"text": "hello mcp"}}]},
        {"name": "done", "last_user_contains": "echo: hello mcp", "reply": "The server said hello."},
    ],
    "fallback": {"reply": "ok"},
}


@pytest.fixture
def mcp_server():
    instance = MCPServer(TOKEN)
    yield instance
    instance.close()


def setup(make_server, mock_llm, mcp_server: MCPServer, *, token: str, toolset: dict | None = None, url: str | None = None):
    url = url or mcp_server.url
    mock = mock_llm(SCENARIO)
    server = make_server(ALLOW, runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    vault = client.beta.vaults.create(display_name=unique("mcp"))
    client.beta.vaults.credentials.create(vault.id, auth={"type": "static_bearer", "token": token, "mcp_server_url": url})
    agent = client.beta.agents.create(
        name=unique("mcp-agent"), model="claude-sonnet-4-5",
        mcp_servers=[{"type": "url", "name": "fixture", "url": url}],
        tools=[toolset or {"type": "mcp_toolset", "mcp_server_name": "fixture",
                           "default_config": {"permission_policy": {"type": "always_allow"}},
                           "configs": [{"name": "secret_tool", "enabled": False}]}],
    )
    session = client.beta.sessions.create(agent=agent.id, environment_id=make_environment(client).id, vault_ids=[vault.id])
    return mock, server, client, session


def test_agent_lists_and_calls_mcp_tools_with_the_vault_credential(make_server, mock_llm, mcp_server: MCPServer) -> None:
    mock, server, client, session = setup(make_server, mock_llm, mcp_server, token=TOKEN)
    client.beta.sessions.events.send(session.id, events=[user_message("Please use the echo tool.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    assert [event.type for event in events] == [
        "user.message", "session.status_running",
        "span.model_request_start", "agent.message", "agent.mcp_tool_use", "span.model_request_end", "agent.mcp_tool_result",
        "span.model_request_start", "agent.message", "span.model_request_end",
        "session.status_idle",
    ]
    use = next(event for event in events if event.type == "agent.mcp_tool_use")
    result = next(event for event in events if event.type == "agent.mcp_tool_result")
    assert use.mcp_server_name == "fixture" and use.name == "echo" and use.input == {"text": "hello mcp"}
    assert use.evaluated_permission == "allow"
    assert result.mcp_tool_use_id == use.id and result.is_error is False
    assert result.content[0].type == "text" and result.content[0].text == "echo: hello mcp"
    assert events[-1].stop_reason.type == "end_turn"

    # The model saw the server's tools (not the hidden one) under their MCP names, and never the token.
    requests = mock.requests()
    tools = [tool["name"] for tool in requests[0]["body"]["tools"]]
    assert "mcp__fixture__echo" in tools and "mcp__fixture__add" in tools
    assert not any("secret_tool" in name for name in tools)
    assert TOKEN not in json.dumps(requests)
    # The second request carries the call and its result as tool_use / tool_result blocks.
    second = json.dumps(requests[1]["body"]["messages"])
    assert "mcp__fixture__echo" in second and "echo: hello mcp" in second
    # The MCP server was called with the vault's token, inside its MCP session.
    assert mcp_server.calls() and mcp_server.calls()[0]["params"] == {"name": "echo", "arguments": {"text": "hello mcp"}}
    assert mcp_server.authorizations() == {f"Bearer {TOKEN}"}
    assert TOKEN not in server.log_path.read_text()


def test_a_wrong_credential_is_an_mcp_session_error_and_the_session_goes_on(make_server, mock_llm, mcp_server: MCPServer) -> None:
    mock, server, client, session = setup(make_server, mock_llm, mcp_server, token="not-the-token")
    client.beta.sessions.events.send(session.id, events=[user_message("Please use the echo tool.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    errors = [event for event in events if event.type == "session.error"]
    assert len(errors) == 1
    error = errors[0].error
    assert error.type == "mcp_authentication_failed_error" and error.mcp_server_name == "fixture"
    assert "401" in error.message and "not-the-token" not in error.message
    assert error.retry_status.type == "terminal"
    # The model was called without the server's tools; it asked for one anyway, which failed cleanly.
    assert not any(tool["name"].startswith("mcp__") for tool in mock.requests()[0]["body"].get("tools", []))
    assert events[-1].type == "session.status_idle" and events[-1].stop_reason.type == "end_turn"
    assert mcp_server.calls() == []

    # Fixing the credential fixes the next turn.
    vault_id = client.beta.sessions.retrieve(session.id).vault_ids[0]
    credential = next(iter(client.beta.vaults.credentials.list(vault_id)))
    client.beta.vaults.credentials.update(credential.id, vault_id=vault_id, auth={"type": "static_bearer", "token": TOKEN})
    client.beta.sessions.events.send(session.id, events=[user_message("Now use the echo tool.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 2)
    assert any(event.type == "agent.mcp_tool_result" and not event.is_error for event in events)


def test_a_server_named_by_host_is_reached_at_the_checked_address(make_server, mock_llm, mcp_server: MCPServer) -> None:
    """A plain-http MCP URL is resolved once and checked against the outbound policy; every
    request then goes to that address with the URL's `Host`, so a second DNS answer cannot
    send the session's credential elsewhere (the fixture listens on 127.0.0.1 only)."""
    if socket.getaddrinfo("localhost", None, proto=socket.IPPROTO_TCP)[0][4][0] != "127.0.0.1":
        pytest.skip("localhost does not resolve to 127.0.0.1 first here")
    named = mcp_server.url.replace("127.0.0.1", "localhost")
    _, _, client, session = setup(make_server, mock_llm, mcp_server, token=TOKEN, url=named)
    client.beta.sessions.events.send(session.id, events=[user_message("Please use the echo tool.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    result = next(event for event in events if event.type == "agent.mcp_tool_result")
    assert result.is_error is False and result.content[0].text == "echo: hello mcp"
    port = named.split(":")[2].split("/")[0]
    assert mcp_server.hosts() == {f"localhost:{port}"}
    assert mcp_server.authorizations() == {f"Bearer {TOKEN}"}


def test_unreachable_server_is_a_connection_error(make_server, mock_llm) -> None:
    closed = MCPServer(TOKEN)
    url = closed.url
    closed.close()
    mock = mock_llm(SCENARIO)
    server = make_server(ALLOW, runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    agent = client.beta.agents.create(
        name=unique("mcp-agent"), model="claude-sonnet-4-5", mcp_servers=[{"type": "url", "name": "gone", "url": url}],
        tools=[{"type": "mcp_toolset", "mcp_server_name": "gone"}, {"type": "agent_toolset_20260401"}],
    )
    session = client.beta.sessions.create(agent=agent.id, environment_id=make_environment(client).id)
    client.beta.sessions.events.send(session.id, events=[user_message("hello")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    error = next(event for event in events if event.type == "session.error").error
    assert error.type == "mcp_connection_failed_error" and error.mcp_server_name == "gone"
    assert events[-1].stop_reason.type == "end_turn"
    assert any(event.type == "agent.message" for event in events)  # the turn went on without the server


def test_always_ask_waits_for_confirmation(make_server, mock_llm, mcp_server: MCPServer) -> None:
    """An MCP toolset's default policy is `always_ask` (as the API documents): the call waits."""
    toolset = {"type": "mcp_toolset", "mcp_server_name": "fixture", "configs": [{"name": "add", "permission_policy": {"type": "always_allow"}}]}
    mock, server, client, session = setup(make_server, mock_llm, mcp_server, token=TOKEN, toolset=toolset)
    client.beta.sessions.events.send(session.id, events=[user_message("Please use the echo tool.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    use = next(event for event in events if event.type == "agent.mcp_tool_use")
    assert use.evaluated_permission == "ask" and use.evaluation.type == "always_ask"
    idle = events[-1]
    assert idle.stop_reason.type == "requires_action" and idle.stop_reason.event_ids == [use.id]
    assert mcp_server.calls() == []  # nothing ran before the confirmation

    client.beta.sessions.events.send(session.id, events=[{"type": "user.tool_confirmation", "tool_use_id": use.id, "result": "allow"}])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 2)
    result = next(event for event in events if event.type == "agent.mcp_tool_result")
    assert result.mcp_tool_use_id == use.id and result.content[0].text == "echo: hello mcp"
    assert events[-1].stop_reason.type == "end_turn"
    assert len(mcp_server.calls()) == 1


def test_mcp_oauth_token_is_refreshed_and_stored(make_server, mock_llm) -> None:
    """An `mcp_oauth` credential whose access token the server refuses: Reverie refreshes it at
    the token endpoint, connects with the new token, and stores it (sealed) for later turns."""
    mcp = MCPServer("fresh-access-token", refresh_token="refresh-token-1", issue="fresh-access-token")
    try:
        mock = mock_llm(SCENARIO)
        server = make_server(ALLOW, runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
        client = server.client()
        vault = client.beta.vaults.create(display_name=unique("oauth"))
        credential = client.beta.vaults.credentials.create(vault.id, auth={
            "type": "mcp_oauth", "access_token": "stale-access-token", "mcp_server_url": mcp.url,
            "refresh": {"client_id": "reverie", "refresh_token": "refresh-token-1", "token_endpoint": mcp.token_url,
                        "token_endpoint_auth": {"type": "none"}}})
        agent = client.beta.agents.create(
            name=unique("mcp-agent"), model="claude-sonnet-4-5", mcp_servers=[{"type": "url", "name": "fixture", "url": mcp.url}],
            tools=[{"type": "mcp_toolset", "mcp_server_name": "fixture", "default_config": {"permission_policy": {"type": "always_allow"}}}])
        session = client.beta.sessions.create(agent=agent.id, environment_id=make_environment(client).id, vault_ids=[vault.id])
        client.beta.sessions.events.send(session.id, events=[user_message("Please use the echo tool.")])
        events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
        assert not any(event.type == "session.error" for event in events)
        assert next(event for event in events if event.type == "agent.mcp_tool_result").content[0].text == "echo: hello mcp"
        assert mcp.refreshes == 1
        assert client.beta.vaults.credentials.retrieve(credential.id, vault_id=vault.id).auth.expires_at is not None

        # The next turn uses the stored token: no second refresh.
        client.beta.sessions.events.send(session.id, events=[user_message("Again: use the echo tool.")])
        wait_for(client, session.id, lambda events: idle_count(events) >= 2)
        assert mcp.refreshes == 1
        server.stop()
        for path in server.data_dir.rglob("*"):
            if path.is_file():
                assert b"fresh-access-token" not in path.read_bytes() and b"refresh-token-1" not in path.read_bytes()
    finally:
        mcp.close()
