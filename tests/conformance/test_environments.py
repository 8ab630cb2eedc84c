"""Environments: cloud configuration stored and returned, self_hosted, update, list,
delete, archive (read-only afterwards)."""

from __future__ import annotations

import anthropic

from support import all_pages, expect_error, ids, make_agent, make_environment, unique

LIMITED_CLOUD = {
    "type": "cloud",
    "networking": {
        "type": "limited",
        "allowed_hosts": ["api.example.com", "pypi.org"],
        "allow_mcp_servers": True,
        "allow_package_managers": True,
    },
    "packages": {"type": "packages", "pip": ["requests==2.32.0", "rich"], "npm": ["left-pad"], "apt": ["jq"]},
}


def test_cloud_config_is_stored_and_returned(client: anthropic.Anthropic) -> None:
    environment = client.beta.environments.create(
        name="Data science", description="Python sandbox", config=LIMITED_CLOUD, metadata={"owner": "ml"}
    )
    assert environment.id.startswith("env_")
    assert environment.type == "environment"
    assert environment.name == "Data science"
    assert environment.description == "Python sandbox"
    assert environment.metadata == {"owner": "ml"}
    assert environment.archived_at is None
    config = environment.config
    assert config.type == "cloud"
    assert config.networking.type == "limited"
    assert config.networking.allowed_hosts == ["api.example.com", "pypi.org"]
    assert config.networking.allow_mcp_servers is True
    assert config.networking.allow_package_managers is True
    assert config.packages.pip == ["requests==2.32.0", "rich"]
    assert config.packages.npm == ["left-pad"]
    assert config.packages.apt == ["jq"]
    assert config.packages.cargo == [] and config.packages.gem == [] and config.packages.go == []

    fetched = client.beta.environments.retrieve(environment.id)
    assert fetched.model_dump() == environment.model_dump()


def test_default_config_is_unrestricted_cloud(client: anthropic.Anthropic) -> None:
    environment = client.beta.environments.create(name=unique("plain"))
    assert environment.config.type == "cloud"
    assert environment.config.networking.type == "unrestricted"
    assert environment.config.packages.pip == []
    assert environment.metadata == {}


def test_self_hosted_is_accepted(client: anthropic.Anthropic) -> None:
    environment = client.beta.environments.create(name=unique("own"), config={"type": "self_hosted"})
    assert environment.config.type == "self_hosted"
    assert client.beta.environments.retrieve(environment.id).config.type == "self_hosted"


def test_update_changes_fields_and_keeps_omitted_config(client: anthropic.Anthropic) -> None:
    environment = make_environment(client, config=LIMITED_CLOUD, metadata={"a": "1", "b": "2"}, description="old")
    updated = client.beta.environments.update(
        environment.id,
        name="renamed",
        description="new",
        metadata={"a": None, "c": "3"},
        config={"type": "cloud", "packages": {"type": "packages", "pip": ["numpy"]}},
    )
    assert updated.name == "renamed"
    assert updated.description == "new"
    assert updated.metadata == {"b": "2", "c": "3"}
    # Networking was omitted from the update, so it is preserved.
    assert updated.config.networking.type == "limited"
    assert updated.config.networking.allowed_hosts == ["api.example.com", "pypi.org"]
    assert updated.config.packages.pip == ["numpy"]
    assert updated.updated_at > environment.updated_at
    assert updated.created_at == environment.created_at
    assert client.beta.environments.retrieve(environment.id).model_dump() == updated.model_dump()

    opened = client.beta.environments.update(environment.id, config={"type": "cloud", "networking": {"type": "unrestricted"}})
    assert opened.config.networking.type == "unrestricted"
    assert opened.config.packages.pip == ["numpy"]


def test_packages_under_limited_networking_need_package_managers(client: anthropic.Anthropic) -> None:
    config = {
        "type": "cloud",
        "networking": {"type": "limited", "allowed_hosts": ["example.com"], "allow_package_managers": False},
        "packages": {"type": "packages", "pip": ["rich"]},
    }
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "packages"):
        client.beta.environments.create(name=unique("bad"), config=config)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "config"):
        client.beta.environments.create(name=unique("bad"), config={"type": "mainframe"})


def test_list_paginates_and_hides_archived(client: anthropic.Anthropic) -> None:
    created = [make_environment(client).id for _ in range(4)]
    archived = make_environment(client)
    client.beta.environments.archive(archived.id)
    everything = client.beta.environments.list(limit=100)
    pages = all_pages(client.beta.environments.list(limit=2))
    assert len(pages) >= 3
    assert all(len(page.data) <= 2 for page in pages)
    walked = [environment.id for page in pages for environment in page.data]
    assert walked == ids(everything.data)
    assert len(set(walked)) == len(walked)
    assert set(created) <= set(walked)
    assert archived.id not in walked
    with_archived = [environment.id for environment in client.beta.environments.list(limit=100, include_archived=True)]
    assert archived.id in with_archived and set(created) <= set(with_archived)


def test_delete_removes_the_environment(client: anthropic.Anthropic) -> None:
    environment = make_environment(client)
    deleted = client.beta.environments.delete(environment.id)
    assert deleted.id == environment.id
    assert deleted.type == "environment_deleted"
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", environment.id):
        client.beta.environments.retrieve(environment.id)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", environment.id):
        client.beta.environments.delete(environment.id)
    assert environment.id not in [item.id for item in client.beta.environments.list(limit=100, include_archived=True)]


def test_environment_in_use_cannot_be_deleted(client: anthropic.Anthropic) -> None:
    environment = make_environment(client)
    session = client.beta.sessions.create(agent=make_agent(client).id, environment_id=environment.id)
    with expect_error(anthropic.ConflictError, 409, "conflict_error", environment.id):
        client.beta.environments.delete(environment.id)
    assert client.beta.environments.retrieve(environment.id).id == environment.id
    client.beta.sessions.delete(session.id)
    assert client.beta.environments.delete(environment.id).id == environment.id


def test_archived_environment_is_read_only(client: anthropic.Anthropic) -> None:
    environment = make_environment(client, description="kept")
    archived = client.beta.environments.archive(environment.id)
    assert archived.archived_at is not None
    assert archived.description == "kept"
    assert client.beta.environments.retrieve(environment.id).archived_at == archived.archived_at
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", environment.id):
        client.beta.environments.update(environment.id, description="changed")
    assert client.beta.environments.retrieve(environment.id).description == "kept"
    agent = make_agent(client)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "environment_id"):
        client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    assert client.beta.environments.archive(environment.id).archived_at == archived.archived_at


def test_unknown_environment_is_not_found(client: anthropic.Anthropic) -> None:
    missing = "env_doesnotexist"
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", missing):
        client.beta.environments.retrieve(missing)
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", missing):
        client.beta.environments.update(missing, name="x")
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", missing):
        client.beta.environments.archive(missing)
