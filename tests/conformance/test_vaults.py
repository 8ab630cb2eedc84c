"""Vaults and credentials through the official SDK (`client.beta.vaults`,
`client.beta.vaults.credentials`), every response validated strictly by the SDK's types.

* Every vault and credential method, for the three auth types, with paging and filters.
* Secrets are write-only: no response carries one, and after credentials are created and
  updated and a session that uses them has run, a byte search of the whole data directory
  (database, WAL, files, keyring aside) and the server's log finds none of them.
* `mcp_oauth_validate` against a loopback MCP server and token endpoint: valid, rejected,
  refreshed (the new token stored), a failed refresh (reported with the secrets scrubbed, and
  announced as `vault_credential.refresh_failed`), unreachable.
* Sessions accept `vault_ids` of live vaults; `vault.*` and `vault_credential.*` webhooks.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import anthropic
import httpx
import pytest

from conftest import database_args, database_schema, reverie_binary
from oauth_fixture import OAuthMCPServer
from support import all_pages, expect_error, make_agent, make_environment, unique, user_message, wait_for, idle_count
from test_webhooks import ALLOW, Receiver, lenient, verify

MCP_URL = "https://mcp.example.com/sse"


def raw(server, path: str) -> str:
    response = httpx.get(server.base_url + path, headers={"x-api-key": server.api_key}, timeout=10)
    response.raise_for_status()
    return response.text


def server_uses_postgres() -> bool:
    """Whether the servers of these tests keep their database in PostgreSQL (not in the data directory)."""
    return bool(os.environ.get("REVERIE_TEST_DATABASE_URL"))


def every_id(page) -> list[str]:
    """The ids of every item of every page of a list."""
    return [item.id for each in all_pages(page) for item in each.data]


def future(hours: int = 1) -> str:
    return (datetime.now(timezone.utc) + timedelta(hours=hours)).isoformat()


# -- vaults ------------------------------------------------------------------------------------


def test_vault_lifecycle(client: anthropic.Anthropic) -> None:
    vaults = client.beta.vaults
    vault = vaults.create(display_name="Team secrets", metadata={"team": "ml", "tier": "1"})
    assert vault.id.startswith("vlt_") and vault.type == "vault"
    assert vault.display_name == "Team secrets" and vault.metadata == {"team": "ml", "tier": "1"}
    assert vault.archived_at is None and vault.created_at.tzinfo is not None
    assert vaults.retrieve(vault.id).model_dump() == vault.model_dump()

    updated = vaults.update(vault.id, display_name="Renamed", metadata={"tier": None, "owner": "ops"})
    assert updated.display_name == "Renamed"
    assert updated.metadata == {"team": "ml", "owner": "ops"}
    assert updated.updated_at >= vault.updated_at
    assert vaults.update(vault.id).model_dump() == updated.model_dump()

    others = [vaults.create(display_name=unique("v")) for _ in range(3)]
    first = vaults.list(limit=2)
    assert len(first.data) == 2 and first.next_page
    listed = every_id(vaults.list(limit=2))
    assert listed[:3] == [v.id for v in reversed(others)] and vault.id in listed

    archived = vaults.archive(others[0].id)
    assert archived.archived_at is not None
    assert vaults.archive(others[0].id).archived_at == archived.archived_at  # idempotent
    assert others[0].id not in every_id(vaults.list())
    assert others[0].id in every_id(vaults.list(include_archived=True))
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", others[0].id):
        vaults.update(others[0].id, display_name="no")

    deleted = vaults.delete(others[1].id)
    assert deleted.id == others[1].id and deleted.type == "vault_deleted"
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", others[1].id):
        vaults.retrieve(others[1].id)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "vlt_missing"):
        vaults.delete("vlt_missing")


def test_vault_bad_input(client: anthropic.Anthropic) -> None:
    vaults = client.beta.vaults
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "display_name"):
        vaults.create(display_name="")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "display_name"):
        vaults.create(display_name="x" * 256)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "display_name"):
        vaults.create(display_name=anthropic.omit, metadata={})  # type: ignore[arg-type]
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "metadata"):
        vaults.create(display_name="m", metadata={f"k{i}": "v" for i in range(17)})
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "colour"):
        vaults.create(display_name="m", extra_body={"colour": "red"})
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "limit"):
        vaults.list(limit=101)


# -- credentials -------------------------------------------------------------------------------


def test_credentials_of_every_type(server, client: anthropic.Anthropic) -> None:
    vault = client.beta.vaults.create(display_name=unique("creds"))
    credentials = client.beta.vaults.credentials
    bearer = credentials.create(
        vault.id, auth={"type": "static_bearer", "token": "sb-token-value-1", "mcp_server_url": MCP_URL}, display_name="Linear",
        metadata={"k": "v"},
    )
    assert bearer.id.startswith("vcrd_") and bearer.type == "vault_credential" and bearer.vault_id == vault.id
    assert bearer.auth.type == "static_bearer" and bearer.auth.mcp_server_url == MCP_URL
    assert bearer.display_name == "Linear" and bearer.metadata == {"k": "v"} and bearer.archived_at is None

    expires = future()
    oauth = credentials.create(
        vault.id,
        auth={
            "type": "mcp_oauth", "access_token": "oa-access-value-1", "mcp_server_url": "https://mcp.other.example.com/mcp",
            "expires_at": expires,
            "refresh": {
                "client_id": "client-1", "refresh_token": "oa-refresh-value-1", "token_endpoint": "https://auth.example.com/token",
                "token_endpoint_auth": {"type": "client_secret_basic", "client_secret": "oa-client-secret-1"}, "scope": "read write",
                "resource": "https://mcp.other.example.com",
            },
        },
    )
    assert oauth.auth.type == "mcp_oauth" and oauth.auth.expires_at is not None
    assert oauth.auth.refresh.client_id == "client-1" and oauth.auth.refresh.token_endpoint == "https://auth.example.com/token"
    assert oauth.auth.refresh.token_endpoint_auth.type == "client_secret_basic"
    assert oauth.auth.refresh.scope == "read write" and oauth.auth.refresh.resource == "https://mcp.other.example.com"
    assert oauth.display_name is None

    env = credentials.create(
        vault.id,
        auth={"type": "environment_variable", "secret_name": "GITHUB_TOKEN", "secret_value": "env-secret-value-1",
              "networking": {"type": "limited", "allowed_hosts": ["api.github.com", "*.githubusercontent.com", "192.0.2.1"]}},
    )
    assert env.auth.type == "environment_variable" and env.auth.secret_name == "GITHUB_TOKEN"
    assert env.auth.networking.type == "limited"
    assert env.auth.networking.allowed_hosts == ["api.github.com", "*.githubusercontent.com", "192.0.2.1"]
    assert env.auth.injection_location.header is True and env.auth.injection_location.body is False

    # Reads never carry a secret.
    for credential in (bearer, oauth, env):
        assert credentials.retrieve(credential.id, vault_id=vault.id).model_dump() == credential.model_dump()
    listing = raw(server, f"/v1/vaults/{vault.id}/credentials")
    for secret in ("sb-token-value-1", "oa-access-value-1", "oa-refresh-value-1", "oa-client-secret-1", "env-secret-value-1"):
        assert secret not in listing
    for field in ("token", "access_token", "refresh_token", "client_secret", "secret_value"):
        assert f'"{field}"' not in listing
    assert every_id(credentials.list(vault.id, limit=1)) == [env.id, oauth.id, bearer.id]

    # Updates: secrets replaced (write-only), settings changed, immutable fields kept.
    bearer2 = credentials.update(bearer.id, vault_id=vault.id, auth={"type": "static_bearer", "token": "sb-token-value-2"}, display_name="L2")
    assert bearer2.auth.mcp_server_url == MCP_URL and bearer2.display_name == "L2"
    oauth2 = credentials.update(
        oauth.id, vault_id=vault.id,
        auth={"type": "mcp_oauth", "access_token": "oa-access-value-2", "expires_at": future(2),
              "refresh": {"refresh_token": "oa-refresh-value-2", "scope": "",
                          "token_endpoint_auth": {"type": "client_secret_post", "client_secret": "oa-client-secret-2"}}},
    )
    assert oauth2.auth.refresh.scope is None
    assert oauth2.auth.refresh.token_endpoint_auth.type == "client_secret_basic"  # the type is kept
    assert oauth2.auth.expires_at > oauth.auth.expires_at
    env2 = credentials.update(
        env.id, vault_id=vault.id,
        auth={"type": "environment_variable", "secret_value": "env-secret-value-2", "injection_location": {"body": True},
              "networking": {"type": "unrestricted"}},
        metadata={"rotated": "yes"},
    )
    assert env2.auth.injection_location.header is True and env2.auth.injection_location.body is True
    assert env2.auth.networking.type == "unrestricted" and env2.metadata == {"rotated": "yes"}

    archived = credentials.archive(bearer.id, vault_id=vault.id)
    assert archived.archived_at is not None
    assert every_id(credentials.list(vault.id)) == [env.id, oauth.id]
    assert bearer.id in every_id(credentials.list(vault.id, include_archived=True))
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", bearer.id):
        credentials.update(bearer.id, vault_id=vault.id, display_name="no")
    # The server URL is free again once its credential is archived.
    again = credentials.create(vault.id, auth={"type": "static_bearer", "token": "sb-token-value-3", "mcp_server_url": MCP_URL})

    deleted = credentials.delete(again.id, vault_id=vault.id)
    assert deleted.id == again.id and deleted.type == "vault_credential_deleted"
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", again.id):
        credentials.retrieve(again.id, vault_id=vault.id)
    other = client.beta.vaults.create(display_name=unique("other"))
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", env.id):
        credentials.retrieve(env.id, vault_id=other.id)  # a credential is reached only through its own vault

    # Archiving the vault archives its credentials; deleting it deletes them.
    client.beta.vaults.archive(vault.id)
    assert credentials.retrieve(env.id, vault_id=vault.id).archived_at is not None
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", vault.id):
        credentials.create(vault.id, auth={"type": "static_bearer", "token": "t", "mcp_server_url": "https://x.example.com"})
    client.beta.vaults.delete(vault.id)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", vault.id):
        credentials.list(vault.id)


def test_credential_bad_input(client: anthropic.Anthropic) -> None:
    vault = client.beta.vaults.create(display_name=unique("bad"))
    create = lambda auth, **kw: client.beta.vaults.credentials.create(vault.id, auth=auth, **kw)  # noqa: E731
    error = anthropic.BadRequestError
    with expect_error(error, 400, "invalid_request_error", "auth.type"):
        create({"type": "password", "token": "x"})
    with expect_error(error, 400, "invalid_request_error", "auth.token"):
        create({"type": "static_bearer", "mcp_server_url": MCP_URL})
    with expect_error(error, 400, "invalid_request_error", "auth.token"):
        create({"type": "static_bearer", "token": "", "mcp_server_url": MCP_URL})
    with expect_error(error, 400, "invalid_request_error", "auth.token") as info:
        create({"type": "static_bearer", "token": "line\nbreak-secret", "mcp_server_url": MCP_URL})
    assert "break-secret" not in info.value.response.text  # a refused secret is not echoed
    with expect_error(error, 400, "invalid_request_error", "auth.mcp_server_url"):
        create({"type": "static_bearer", "token": "t", "mcp_server_url": "ftp://mcp.example.com"})
    with expect_error(error, 400, "invalid_request_error", "auth.mcp_server_url"):
        create({"type": "static_bearer", "token": "t", "mcp_server_url": "https://user:pw@mcp.example.com"})
    with expect_error(error, 400, "invalid_request_error", "auth.expires_at"):
        create({"type": "mcp_oauth", "access_token": "a", "mcp_server_url": MCP_URL, "expires_at": "2001-01-01T00:00:00Z"})
    with expect_error(error, 400, "invalid_request_error", "auth.refresh.token_endpoint_auth.client_secret"):
        create({"type": "mcp_oauth", "access_token": "a", "mcp_server_url": MCP_URL,
                "refresh": {"client_id": "c", "refresh_token": "r", "token_endpoint": "https://a.example.com/t",
                            "token_endpoint_auth": {"type": "client_secret_post"}}})
    with expect_error(error, 400, "invalid_request_error", "auth.secret_name"):
        create({"type": "environment_variable", "secret_name": "1BAD", "secret_value": "v", "networking": {"type": "unrestricted"}})
    for host in ("https://api.example.com", "api.example.com:443", "api.example.com/path", "::1", "a..b"):
        with expect_error(error, 400, "invalid_request_error", "auth.networking.allowed_hosts[0]"):
            create({"type": "environment_variable", "secret_name": "T", "secret_value": "v",
                    "networking": {"type": "limited", "allowed_hosts": [host]}})
    with expect_error(error, 400, "invalid_request_error", "auth.networking.allowed_hosts"):
        create({"type": "environment_variable", "secret_name": "T", "secret_value": "v",
                "networking": {"type": "limited", "allowed_hosts": [f"h{i}.example.com" for i in range(17)]}})
    with expect_error(error, 400, "invalid_request_error", "auth.injection_location"):
        create({"type": "environment_variable", "secret_name": "T", "secret_value": "v", "networking": {"type": "unrestricted"},
                "injection_location": {"header": False, "body": False}})
    with expect_error(error, 400, "invalid_request_error", "auth.networking"):
        create({"type": "environment_variable", "secret_name": "T", "secret_value": "v"})

    bearer = create({"type": "static_bearer", "token": "t", "mcp_server_url": MCP_URL})
    with expect_error(anthropic.ConflictError, 409, "conflict_error", MCP_URL):
        create({"type": "static_bearer", "token": "t2", "mcp_server_url": MCP_URL})
    env = create({"type": "environment_variable", "secret_name": "API_KEY", "secret_value": "v", "networking": {"type": "unrestricted"}})
    with expect_error(anthropic.ConflictError, 409, "conflict_error", "API_KEY"):
        create({"type": "environment_variable", "secret_name": "API_KEY", "secret_value": "w", "networking": {"type": "unrestricted"}})
    update = client.beta.vaults.credentials.update
    with expect_error(error, 400, "invalid_request_error", "auth.type"):
        update(bearer.id, vault_id=vault.id, auth={"type": "mcp_oauth", "access_token": "x"})
    with expect_error(error, 400, "invalid_request_error", "auth.mcp_server_url"):
        update(bearer.id, vault_id=vault.id, auth={"type": "static_bearer", "mcp_server_url": "https://else.example.com"})
    with expect_error(error, 400, "invalid_request_error", "auth.secret_name"):
        update(env.id, vault_id=vault.id, auth={"type": "environment_variable", "secret_name": "OTHER"})
    with expect_error(error, 400, "invalid_request_error", "auth.injection_location"):
        update(env.id, vault_id=vault.id, auth={"type": "environment_variable", "injection_location": {"header": False}})
    oauth = create({"type": "mcp_oauth", "access_token": "a", "mcp_server_url": "https://o.example.com/mcp"})
    with expect_error(error, 400, "invalid_request_error", "auth.refresh"):
        update(oauth.id, vault_id=vault.id, auth={"type": "mcp_oauth", "refresh": {"refresh_token": "r"}})
    with expect_error(error, 400, "invalid_request_error", "only mcp_oauth"):
        client.beta.vaults.credentials.mcp_oauth_validate(bearer.id, vault_id=vault.id)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "vcrd_missing"):
        update("vcrd_missing", vault_id=vault.id, display_name="x")
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "vlt_missing"):
        client.beta.vaults.credentials.create("vlt_missing", auth={"type": "static_bearer", "token": "t", "mcp_server_url": MCP_URL})


# -- mcp_oauth_validate ------------------------------------------------------------------------


@pytest.fixture
def oauth_server():
    instance = OAuthMCPServer(valid_tokens={"good-access"}, refresh_token="rt-good", client_id="cid", client_secret="cs-good",
                              issue="fresh-access", auth="client_secret_basic")
    yield instance
    instance.close()


def test_mcp_oauth_validate(make_server, oauth_server: OAuthMCPServer) -> None:
    server = make_server(ALLOW)
    client = server.client()
    vault = client.beta.vaults.create(display_name="oauth")
    credentials = client.beta.vaults.credentials

    def oauth(access: str, url: str, refresh: dict | None = None):
        auth: dict = {"type": "mcp_oauth", "access_token": access, "mcp_server_url": url}
        if refresh is not None:
            auth["refresh"] = refresh
        return credentials.create(vault.id, auth=auth)

    good = oauth("good-access", oauth_server.mcp_url)
    result = credentials.mcp_oauth_validate(good.id, vault_id=vault.id)
    assert result.type == "vault_credential_validation" and result.status == "valid"
    assert result.credential_id == good.id and result.vault_id == vault.id
    assert result.mcp_probe is None and result.refresh is None and result.has_refresh_token is False
    headers, body = oauth_server.last("/mcp")
    assert headers["authorization"] == "Bearer good-access" and json.loads(body)["method"] == "initialize"

    # Rejected, nothing to refresh with.
    client.beta.vaults.credentials.update(good.id, vault_id=vault.id, auth={"type": "mcp_oauth", "access_token": "stale-access-9"})
    rejected = credentials.mcp_oauth_validate(good.id, vault_id=vault.id)
    assert rejected.status == "invalid" and rejected.refresh.status == "no_refresh_token"
    assert rejected.mcp_probe.method == "initialize" and rejected.mcp_probe.http_response.status_code == 401
    assert "stale-access-9" not in rejected.mcp_probe.http_response.body  # the server echoed it; Reverie scrubs it
    assert "[redacted]" in rejected.mcp_probe.http_response.body

    # Rejected, then refreshed: the new token is stored and used from then on.
    refreshable = oauth(
        "expired-access", oauth_server.mcp_url + "?r=1",
        {"client_id": "cid", "refresh_token": "rt-good", "token_endpoint": oauth_server.token_url,
         "token_endpoint_auth": {"type": "client_secret_basic", "client_secret": "cs-good"}},
    )
    refreshed = credentials.mcp_oauth_validate(refreshable.id, vault_id=vault.id)
    assert refreshed.status == "valid" and refreshed.refresh.status == "succeeded" and refreshed.has_refresh_token is True
    assert credentials.retrieve(refreshable.id, vault_id=vault.id).auth.expires_at is not None
    before = len(oauth_server.paths())
    again = credentials.mcp_oauth_validate(refreshable.id, vault_id=vault.id)
    assert again.status == "valid" and again.refresh is None
    assert oauth_server.paths()[before:] == ["/mcp?r=1"]  # the stored token is the fresh one: no second refresh
    assert oauth_server.last("/mcp?r=1")[0]["authorization"] == "Bearer fresh-access"

    # A refresh the token endpoint refuses.
    failing = oauth(
        "expired-2", oauth_server.mcp_url + "?r=2",
        {"client_id": "cid", "refresh_token": "rt-unknown-7", "token_endpoint": oauth_server.token_url,
         "token_endpoint_auth": {"type": "client_secret_basic", "client_secret": "cs-good"}},
    )
    failed = credentials.mcp_oauth_validate(failing.id, vault_id=vault.id)
    assert failed.status == "invalid" and failed.refresh.status == "failed"
    assert failed.refresh.http_response.status_code == 400
    assert "rt-unknown-7" not in failed.refresh.http_response.body and "invalid_grant" in failed.refresh.http_response.body

    # Nothing listening.
    closed = oauth("whatever", "http://127.0.0.1:9/mcp")
    unknown = credentials.mcp_oauth_validate(closed.id, vault_id=vault.id)
    assert unknown.status == "unknown" and unknown.mcp_probe.method == "initialize" and unknown.mcp_probe.http_response is None


def test_validate_refuses_private_addresses_by_default(client: anthropic.Anthropic, oauth_server: OAuthMCPServer) -> None:
    vault = client.beta.vaults.create(display_name=unique("private"))
    credential = client.beta.vaults.credentials.create(
        vault.id, auth={"type": "mcp_oauth", "access_token": "good-access", "mcp_server_url": oauth_server.mcp_url})
    result = client.beta.vaults.credentials.mcp_oauth_validate(credential.id, vault_id=vault.id)
    assert result.status == "unknown" and result.mcp_probe.http_response is None
    assert oauth_server.paths() == []  # never contacted


# -- sessions ----------------------------------------------------------------------------------


def test_sessions_take_vault_ids(client: anthropic.Anthropic) -> None:
    first = client.beta.vaults.create(display_name=unique("s1"))
    second = client.beta.vaults.create(display_name=unique("s2"))
    agent = make_agent(client)
    environment = make_environment(client)
    session = client.beta.sessions.create(agent=agent.id, environment_id=environment.id, vault_ids=[first.id, second.id])
    assert session.vault_ids == [first.id, second.id]
    assert client.beta.sessions.retrieve(session.id).vault_ids == [first.id, second.id]
    updated = client.beta.sessions.update(session.id, vault_ids=[second.id])
    assert updated.vault_ids == [second.id]
    assert client.beta.sessions.update(session.id, title="t").vault_ids == [second.id]

    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "vault_ids[1]", "vlt_nope"):
        client.beta.sessions.create(agent=agent.id, environment_id=environment.id, vault_ids=[first.id, "vlt_nope"])
    client.beta.vaults.archive(first.id)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "vault_ids[0]", "archived"):
        client.beta.sessions.create(agent=agent.id, environment_id=environment.id, vault_ids=[first.id])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "vault_ids[0]", "archived"):
        client.beta.sessions.update(session.id, vault_ids=[first.id])
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "vault_ids[1]", "twice"):
        client.beta.sessions.create(agent=agent.id, environment_id=environment.id, vault_ids=[second.id, second.id])
    assert client.beta.sessions.retrieve(session.id).vault_ids == [second.id]


# -- webhooks ----------------------------------------------------------------------------------


def test_vault_webhooks_parse_with_the_sdk(make_server) -> None:
    receiver = Receiver()
    try:
        server = make_server(ALLOW)
        client = lenient(server)
        types = ["vault.created", "vault.archived", "vault.deleted", "vault_credential.created", "vault_credential.archived",
                 "vault_credential.deleted"]
        endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=types)
        vault = client.beta.vaults.create(display_name="hooked")
        one = client.beta.vaults.credentials.create(vault.id, auth={"type": "static_bearer", "token": "wh-secret-1", "mcp_server_url": MCP_URL})
        two = client.beta.vaults.credentials.create(
            vault.id, auth={"type": "environment_variable", "secret_name": "X", "secret_value": "wh-secret-2", "networking": {"type": "unrestricted"}})
        client.beta.vaults.credentials.delete(one.id, vault_id=vault.id)
        client.beta.vaults.archive(vault.id)
        client.beta.vaults.delete(vault.id)
        expected = ["vault.created", "vault_credential.created", "vault_credential.created", "vault_credential.deleted",
                    "vault.archived", "vault_credential.archived", "vault_credential.deleted", "vault.deleted"]
        requests = receiver.wait_for(lambda r: len(r) >= len(expected))
        time.sleep(0.3)
        assert sorted(receiver.types()) == sorted(expected)
        for headers, body in requests:
            assert "wh-secret" not in body
            event = verify(client, endpoint.signing_secret, headers, body)
            data = event.data
            if data.type.startswith("vault_credential."):
                assert data.vault_id == vault.id and data.id in (one.id, two.id)
            else:
                assert data.id == vault.id
    finally:
        receiver.close()


def test_refresh_failure_is_announced(make_server, oauth_server: OAuthMCPServer) -> None:
    receiver = Receiver()
    try:
        server = make_server(ALLOW)
        client = lenient(server)
        endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=["vault_credential.refresh_failed"])
        vault = client.beta.vaults.create(display_name="refresh")
        credential = client.beta.vaults.credentials.create(vault.id, auth={
            "type": "mcp_oauth", "access_token": "bad", "mcp_server_url": oauth_server.mcp_url,
            "refresh": {"client_id": "cid", "refresh_token": "rt-wrong", "token_endpoint": oauth_server.token_url,
                        "token_endpoint_auth": {"type": "none"}}})
        assert client.beta.vaults.credentials.mcp_oauth_validate(credential.id, vault_id=vault.id).refresh.status == "failed"
        headers, body = receiver.wait_for(lambda r: len(r) >= 1)[0]
        event = verify(client, endpoint.signing_secret, headers, body)
        assert event.data.type == "vault_credential.refresh_failed"
        assert event.data.id == credential.id and event.data.vault_id == vault.id
    finally:
        receiver.close()


# -- secrets at rest ---------------------------------------------------------------------------


def test_no_secret_lands_anywhere_in_the_data_directory(make_server, mock_llm) -> None:
    """Credentials created and updated, a session using their vault run to idle, the server
    stopped: no secret value is found in any file of the data directory or in the log."""
    mock = mock_llm({"rules": [{"name": "hello", "last_user_contains": "hello", "reply": "Hi."}]})
    server = make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    marker = unique("S3CR3T").replace("-", "")
    secrets = [f"{marker}-{name}" for name in ("bearer1", "bearer2", "access1", "access2", "refresh1", "client1", "env1", "env2")]
    vault = client.beta.vaults.create(display_name="display-name-" + marker[::-1])
    credentials = client.beta.vaults.credentials
    bearer = credentials.create(vault.id, auth={"type": "static_bearer", "token": secrets[0], "mcp_server_url": MCP_URL})
    credentials.update(bearer.id, vault_id=vault.id, auth={"type": "static_bearer", "token": secrets[1]})
    oauth = credentials.create(vault.id, auth={
        "type": "mcp_oauth", "access_token": secrets[2], "mcp_server_url": "https://o.example.com/mcp",
        "refresh": {"client_id": "c", "refresh_token": secrets[4], "token_endpoint": "https://a.example.com/token",
                    "token_endpoint_auth": {"type": "client_secret_post", "client_secret": secrets[5]}}})
    credentials.update(oauth.id, vault_id=vault.id, auth={"type": "mcp_oauth", "access_token": secrets[3]})
    env = credentials.create(vault.id, auth={
        "type": "environment_variable", "secret_name": "TOKEN", "secret_value": secrets[6], "networking": {"type": "unrestricted"}})
    credentials.update(env.id, vault_id=vault.id, auth={"type": "environment_variable", "secret_value": secrets[7]})

    session = client.beta.sessions.create(agent=make_agent(client).id, environment_id=make_environment(client).id, vault_ids=[vault.id])
    client.beta.sessions.events.send(session.id, events=[user_message("hello")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)
    assert events[-1].type == "session.status_idle"
    for request in mock.requests():
        assert marker not in json.dumps(request)  # the model never sees a credential
    server.stop()

    searched = 0
    control = b"display-name-" + marker.encode()[::-1]  # stored in the clear: proves the search reads what is stored
    found_control = False
    for path in sorted(Path(server.data_dir).rglob("*")) + [Path(server.log_path)]:
        if not path.is_file():
            continue
        data = path.read_bytes()
        searched += 1
        assert marker.encode() not in data, f"a secret value was found in {path}"
        found_control = found_control or control in data
    # SQLite: the database, its WAL, the keyring, the log; PostgreSQL: the keyring and the log (the dump is below).
    assert searched >= (2 if server_uses_postgres() else 3)
    if server_uses_postgres():
        # The database is not in the data directory: search a dump of the server's schema.
        dump = subprocess.run(
            ["pg_dump", "--data-only", "--schema", database_schema(server.data_dir), os.environ["REVERIE_TEST_DATABASE_URL"]],
            capture_output=True, check=True, timeout=60,
        ).stdout
        assert marker.encode() not in dump, "a secret value was found in the PostgreSQL database"
        found_control = found_control or control in dump
    assert found_control
    assert (Path(server.data_dir) / "secrets.keyring").is_file()


def test_deployments_pass_their_vaults_to_their_sessions(client: anthropic.Anthropic) -> None:
    vault = client.beta.vaults.create(display_name=unique("deploy"))
    agent = make_agent(client)
    environment = make_environment(client)
    message = {"type": "user.message", "content": [{"type": "text", "text": "go"}]}
    deployment = client.beta.deployments.create(
        name=unique("with-vault"), agent=agent.id, environment_id=environment.id, initial_events=[message], vault_ids=[vault.id])
    assert deployment.vault_ids == [vault.id]
    run = client.beta.deployments.run(deployment.id)
    assert run.error is None
    assert client.beta.sessions.retrieve(run.session_id).vault_ids == [vault.id]

    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "vlt_gone"):
        client.beta.deployments.create(
            name=unique("missing"), agent=agent.id, environment_id=environment.id, initial_events=[message], vault_ids=["vlt_gone"])
    client.beta.vaults.archive(vault.id)
    failed = client.beta.deployments.run(deployment.id)
    assert failed.session_id is None and failed.error.type == "vault_archived_error" and vault.id in failed.error.message


def test_rotating_the_key_reseals_every_secret(make_server, tmp_path) -> None:
    """`reverie secrets rotate-key` on a stopped server: a new current key, every stored secret
    re-sealed with it, the old key retired; after a restart, credentials and webhook secrets
    still open (a probe and a delivery need them)."""
    receiver = Receiver()
    try:
        server = make_server(ALLOW)
        client = lenient(server)
        endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=["vault.created"])
        vault = client.beta.vaults.create(display_name="before rotation")
        credential = client.beta.vaults.credentials.create(
            vault.id, auth={"type": "mcp_oauth", "access_token": "rotated-secret-1", "mcp_server_url": "http://127.0.0.1:9/mcp"})
        receiver.wait_for(lambda r: len(r) >= 1)
        server.stop()
        keyring = Path(server.data_dir) / "secrets.keyring"
        old = keyring.read_text().split()[0]

        command = [str(reverie_binary()), "secrets", "rotate-key", "--data-dir", str(server.data_dir), *database_args(server.data_dir)]
        env = {key: value for key, value in os.environ.items() if not key.startswith("REVERIE_")}
        rotated = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
        assert rotated.returncode == 0, rotated.stderr
        assert "re-sealed 2 stored secret(s)" in rotated.stdout  # the webhook's signing secret and the credential's
        lines = keyring.read_text().splitlines()
        assert len(lines) == 1 and not lines[0].startswith(old + " ")
        assert oct(keyring.stat().st_mode & 0o777) == "0o600"

        server.start()
        client = lenient(server)
        result = client.beta.vaults.credentials.mcp_oauth_validate(credential.id, vault_id=vault.id)
        assert result.status == "unknown"  # the secret opened; nothing listens on port 9
        client.beta.vaults.create(display_name="after rotation")
        headers, body = receiver.wait_for(lambda r: len(r) >= 2)[1]
        assert verify(client, endpoint.signing_secret, headers, body).data.type == "vault.created"
    finally:
        receiver.close()
