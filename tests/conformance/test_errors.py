"""Errors: the envelope `{"type":"error","error":{"type","message"}}`, its HTTP status and
the SDK exception class, for unknown ids, bad input, authentication and oversized bodies."""

from __future__ import annotations

from typing import Callable

import anthropic
import httpx
import pytest
from anthropic import Omit

from conftest import API_KEY, ReverieServer
from support import MODEL, expect_error, make_agent, make_environment, make_session, unique, user_message


@pytest.fixture(scope="module")
def agent(client: anthropic.Anthropic):
    return make_agent(client)


@pytest.fixture(scope="module")
def environment(client: anthropic.Anthropic):
    return make_environment(client)


@pytest.fixture(scope="module")
def session(client: anthropic.Anthropic, agent, environment):
    return make_session(client, agent=agent.id, environment_id=environment.id)


NOT_FOUND: list[tuple[str, Callable[[anthropic.Anthropic], object], str]] = [
    ("agents.retrieve", lambda c: c.beta.agents.retrieve("agent_missing0"), "agent_missing0"),
    ("agents.update", lambda c: c.beta.agents.update("agent_missing0", name="x"), "agent_missing0"),
    ("agents.archive", lambda c: c.beta.agents.archive("agent_missing0"), "agent_missing0"),
    ("agents.versions.list", lambda c: c.beta.agents.versions.list("agent_missing0"), "agent_missing0"),
    ("environments.retrieve", lambda c: c.beta.environments.retrieve("env_missing0"), "env_missing0"),
    ("environments.update", lambda c: c.beta.environments.update("env_missing0", name="x"), "env_missing0"),
    ("environments.delete", lambda c: c.beta.environments.delete("env_missing0"), "env_missing0"),
    ("environments.archive", lambda c: c.beta.environments.archive("env_missing0"), "env_missing0"),
    ("sessions.retrieve", lambda c: c.beta.sessions.retrieve("sesn_missing0"), "sesn_missing0"),
    ("sessions.update", lambda c: c.beta.sessions.update("sesn_missing0", title="x"), "sesn_missing0"),
    ("sessions.delete", lambda c: c.beta.sessions.delete("sesn_missing0"), "sesn_missing0"),
    ("sessions.archive", lambda c: c.beta.sessions.archive("sesn_missing0"), "sesn_missing0"),
    ("events.list", lambda c: c.beta.sessions.events.list("sesn_missing0"), "sesn_missing0"),
    ("events.send", lambda c: c.beta.sessions.events.send("sesn_missing0", events=[user_message("x")]), "sesn_missing0"),
    ("events.stream", lambda c: c.beta.sessions.events.stream("sesn_missing0"), "sesn_missing0"),
]


@pytest.mark.parametrize("call,missing", [(call, missing) for _, call, missing in NOT_FOUND], ids=[name for name, _, _ in NOT_FOUND])
def test_unknown_ids_are_not_found(client: anthropic.Anthropic, call, missing: str) -> None:
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", missing) as info:
        call(client)
    assert info.value.request_id, "error responses carry a request-id header"


def test_unknown_route_is_not_found(client: anthropic.Anthropic) -> None:
    with expect_error(anthropic.NotFoundError, 404, "not_found_error"):
        client.get("/v1/no_such_resource", cast_to=object)


def metadata_cases() -> list[tuple[str, dict, str]]:
    return [
        ("17 pairs", {f"k{index}": "v" for index in range(17)}, "metadata"),
        ("65-char key", {"k" * 65: "v"}, "metadata"),
        ("513-char value", {"key": "v" * 513}, "metadata"),
        ("empty key", {"": "v"}, "metadata"),
    ]


AT_LIMIT = {**{f"k{index}": "v" for index in range(15)}, "k" * 64: "v" * 512}


@pytest.mark.parametrize("metadata,field", [(m, f) for _, m, f in metadata_cases()], ids=[n for n, _, _ in metadata_cases()])
def test_metadata_limits_on_create(client: anthropic.Anthropic, environment, agent, metadata: dict, field: str) -> None:
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", field):
        client.beta.agents.create(name=unique("meta"), model=MODEL, metadata=metadata)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", field):
        client.beta.environments.create(name=unique("meta"), metadata=metadata)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", field):
        client.beta.sessions.create(agent=agent.id, environment_id=environment.id, metadata=metadata)


def test_metadata_at_the_limits_is_accepted(client: anthropic.Anthropic, environment, agent) -> None:
    assert len(AT_LIMIT) == 16
    assert make_agent(client, metadata=AT_LIMIT).metadata == AT_LIMIT
    assert make_environment(client, metadata=AT_LIMIT).metadata == AT_LIMIT
    assert make_session(client, agent=agent.id, environment_id=environment.id, metadata=AT_LIMIT).metadata == AT_LIMIT


def test_metadata_limits_apply_to_the_patched_result(client: anthropic.Anthropic, agent, environment, session) -> None:
    full = {f"k{index}": "v" for index in range(16)}
    target = make_agent(client, metadata=full)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "metadata"):
        client.beta.agents.update(target.id, metadata={"one_more": "v"})
    assert client.beta.agents.retrieve(target.id).metadata == full
    # Deleting one key makes room for another in the same patch.
    assert len(client.beta.agents.update(target.id, metadata={"k0": None, "one_more": "v"}).metadata) == 16

    own = make_session(client, agent=agent.id, environment_id=environment.id, metadata=full)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "metadata"):
        client.beta.sessions.update(own.id, metadata={"one_more": "v"})
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "metadata"):
        client.beta.sessions.update(session.id, metadata={"key": "v" * 513})
    env = make_environment(client, metadata=full)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "metadata"):
        client.beta.environments.update(env.id, metadata={"k" * 65: "v"})
    assert client.beta.sessions.retrieve(own.id).metadata == full


def test_bad_input_names_the_field(client: anthropic.Anthropic, agent, environment, session) -> None:
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "name"):
        client.beta.agents.create(name=123, model=MODEL)  # type: ignore[arg-type]
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "model"):
        client.beta.agents.create(name=unique("bad"), model=None)  # type: ignore[arg-type]
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "colour"):
        client.beta.agents.create(name=unique("bad"), model=MODEL, extra_body={"colour": "red"})
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "name"):
        client.beta.environments.create(name="")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "environment_id"):
        client.beta.sessions.create(agent=agent.id, environment_id=None)  # type: ignore[arg-type]
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "title"):
        client.beta.sessions.update(session.id, title=7)  # type: ignore[arg-type]
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "events[0].content[0].text"):
        client.beta.sessions.events.send(session.id, events=[{"type": "user.message", "content": [{"type": "text"}]}])


def test_bad_list_parameters_name_the_parameter(client: anthropic.Anthropic, session) -> None:
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "limit"):
        client.beta.agents.list(limit=0)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "limit"):
        client.beta.environments.list(limit=101)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "page"):
        client.beta.sessions.list(page="not-a-cursor")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "order"):
        client.beta.sessions.events.list(session.id, order="sideways")  # type: ignore[arg-type]
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "statuses"):
        client.beta.sessions.list(statuses=["asleep"])  # type: ignore[list-item]


def test_malformed_json_is_a_bad_request(server: ReverieServer) -> None:
    # The SDK always sends valid JSON, so only this test talks HTTP directly.
    headers = {"x-api-key": API_KEY, "content-type": "application/json", "anthropic-version": "2023-06-01"}
    for body in (b'{"name": "x", ', b"not json at all", b"[1, 2, 3]", b'"just a string"'):
        response = httpx.post(f"{server.base_url}/v1/agents?beta=true", content=body, headers=headers, timeout=10)
        assert response.status_code == 400, (body, response.text)
        envelope = response.json()
        assert envelope["type"] == "error"
        assert envelope["error"]["type"] == "invalid_request_error"
        assert isinstance(envelope["error"]["message"], str) and envelope["error"]["message"]


AUTH_CASES = {
    "bearer wrong": dict(api_key=None, auth_token="wrong-key"),
    "x-api-key wrong": dict(api_key=None, default_headers={"x-api-key": "wrong-key", "Authorization": Omit()}),
    "bearer without a key": dict(api_key=None, default_headers={"Authorization": "Bearer"}),
    "other scheme": dict(api_key=None, default_headers={"Authorization": f"Basic {API_KEY}"}),
    "missing": dict(api_key=None, default_headers={"Authorization": Omit()}),
}


@pytest.mark.parametrize("options", list(AUTH_CASES.values()), ids=list(AUTH_CASES))
def test_missing_or_wrong_key_is_an_authentication_error(server: ReverieServer, options: dict) -> None:
    sdk = anthropic.Anthropic(base_url=server.base_url, max_retries=0, _strict_response_validation=True, **options)
    with expect_error(anthropic.AuthenticationError, 401, "authentication_error"):
        sdk.beta.agents.list()
    with expect_error(anthropic.AuthenticationError, 401, "authentication_error"):
        sdk.beta.agents.create(name=unique("intruder"), model=MODEL)


def test_right_key_works_through_either_header(server: ReverieServer) -> None:
    bearer = anthropic.Anthropic(base_url=server.base_url, api_key=None, auth_token=API_KEY, max_retries=0,
                                 _strict_response_validation=True)
    request = bearer.beta.agents.with_raw_response.list()
    assert request.http_request.headers["authorization"] == f"Bearer {API_KEY}"
    assert "x-api-key" not in request.http_request.headers
    x_api_key = anthropic.Anthropic(base_url=server.base_url, api_key=None, max_retries=0, _strict_response_validation=True,
                                    default_headers={"x-api-key": API_KEY, "Authorization": Omit()})
    request = x_api_key.beta.agents.with_raw_response.list()
    assert request.http_request.headers["x-api-key"] == API_KEY
    assert "authorization" not in request.http_request.headers
    created = x_api_key.beta.agents.create(name=unique("via-header"), model=MODEL)
    assert bearer.beta.agents.retrieve(created.id).id == created.id


def test_body_over_the_limit_is_too_large(make_server) -> None:
    small = make_server("--max-body-bytes", "2048")
    client = small.client()
    agent = client.beta.agents.create(name="fits", model=MODEL, system="x" * 1000)
    with expect_error(anthropic.ContentTooLargeError, 413, "request_too_large"):
        client.beta.agents.create(name="too big", model=MODEL, system="x" * 5000)
    with expect_error(anthropic.ContentTooLargeError, 413, "request_too_large"):
        client.beta.agents.update(agent.id, system="y" * 100_000)
    # Nothing was stored, and the server keeps serving.
    assert [item.name for item in client.beta.agents.list()] == ["fits"]
    assert client.beta.agents.retrieve(agent.id).version == 1
