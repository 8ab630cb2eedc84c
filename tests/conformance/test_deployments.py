"""Deployments and deployment runs through the official SDK: configuration, `run` now (a
session that receives the initial events and finishes), cron schedules fired once per
occurrence across a restart (time moved through `--schedule-clock-file`, not waited for),
pause, no backfill, auto-pause, and the `deployment.*` / `deployment_run.*` webhooks."""

from __future__ import annotations

import json
import time
import typing
from datetime import datetime, timezone

import anthropic
import pytest
from anthropic.types.beta import beta_webhook_event_data

from support import expect_error, idle_count, make_agent, make_environment, wait_for
from test_webhooks import ALLOW, lenient, receiver, runtime_env, verify  # noqa: F401 (receiver is a fixture)

CLOCK = "--schedule-clock-file"


def message(text: str) -> dict:
    return {"type": "user.message", "content": [{"type": "text", "text": text}]}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def set_clock(path, text: str) -> None:
    path.write_text(text + "\n")


def runs(client, deployment_id: str) -> list:
    return list(client.beta.deployment_runs.list(deployment_id=deployment_id, limit=100))


def wait_runs(client, deployment_id: str, count: int, timeout: float = 20) -> list:
    deadline = time.monotonic() + timeout
    while True:
        found = runs(client, deployment_id)
        if len(found) >= count:
            return found
        assert time.monotonic() < deadline, f"{len(found)} run(s) after {timeout} s, expected {count}"
        time.sleep(0.1)


def test_deployment_configuration_matches_the_sdk(make_server) -> None:
    client = make_server().client()
    agent = make_agent(client, name="nightly")
    environment = make_environment(client)
    created = client.beta.deployments.create(
        name="nightly report", description="every weekday", agent=agent.id, environment_id=environment.id,
        initial_events=[message("Write the report.")], metadata={"team": "ops"},
        schedule={"type": "cron", "expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"},
    )
    assert created.type == "deployment" and created.id.startswith("depl_")
    assert created.agent.id == agent.id and created.agent.version == agent.version
    assert created.status == "active" and created.paused_reason is None and created.archived_at is None
    assert created.schedule.expression == "0 9 * * 1-5" and created.schedule.timezone == "Europe/Berlin"
    assert created.schedule.last_run_at is None
    upcoming = created.schedule.upcoming_runs_at
    assert len(upcoming) == 5 and upcoming == sorted(upcoming)
    assert all(moment.weekday() < 5 and moment.astimezone(timezone.utc).minute == 0 for moment in upcoming)
    assert created.initial_events[0].type == "user.message" and created.metadata == {"team": "ops"}
    assert created.vault_ids == [] and created.resources == [] and created.budget is None
    assert client.beta.deployments.retrieve(created.id) == created

    updated = client.beta.deployments.update(created.id, name="manual report", schedule=None, metadata={"team": None, "tier": "1"}, description="")
    assert updated.name == "manual report" and updated.schedule is None and updated.metadata == {"tier": "1"} and updated.description is None
    assert updated.updated_at >= created.updated_at

    paused = client.beta.deployments.pause(created.id)
    assert paused.status == "paused" and paused.paused_reason.type == "manual"
    other = client.beta.deployments.create(name="other", agent=agent.id, environment_id=environment.id, initial_events=[message("x")])
    assert [d.id for d in client.beta.deployments.list(status="paused")] == [created.id]
    assert [d.id for d in client.beta.deployments.list(status="active")] == [other.id]
    assert {d.id for d in client.beta.deployments.list(agent_id=agent.id)} == {created.id, other.id}
    assert client.beta.deployments.unpause(created.id).status == "active"

    archived = client.beta.deployments.archive(other.id)
    assert archived.archived_at is not None and archived.status == "active"
    assert [d.id for d in client.beta.deployments.list()] == [created.id]
    assert {d.id for d in client.beta.deployments.list(include_archived=True)} == {created.id, other.id}
    first = client.beta.deployments.list(limit=1, include_archived=True)
    assert len(first.data) == 1 and first.next_page
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "archived"):
        client.beta.deployments.run(other.id)
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "include_archived"):
        client.beta.deployments.list(status="paused", include_archived=True)

    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "depl_missing"):
        client.beta.deployments.retrieve("depl_missing")
    with expect_error(anthropic.NotFoundError, 404, "not_found_error", "drun_missing"):
        client.beta.deployment_runs.retrieve("drun_missing")
    base = {"name": "bad", "agent": agent.id, "environment_id": environment.id, "initial_events": [message("x")]}
    for changes, field in [
        ({"initial_events": []}, "initial_events"),
        ({"schedule": {"type": "cron", "expression": "0 9 * * *", "timezone": "Mars/Olympus"}}, "timezone"),
        ({"schedule": {"type": "cron", "expression": "0 0 30 2 *", "timezone": "UTC"}}, "never"),
        ({"schedule": {"type": "cron", "expression": "@daily", "timezone": "UTC"}}, "schedule.expression"),
        ({"agent": "agent_missing"}, "agent_missing"),
        ({"environment_id": "env_missing"}, "env_missing"),
        ({"initial_events": [{"type": "user.interrupt"}]}, "user.interrupt"),
        ({"resources": [{"type": "file", "file_id": "file_missing"}]}, "file_missing"),
    ]:
        with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", field):
            client.beta.deployments.create(**{**base, **changes})
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "cleared"):
        client.beta.deployments.update(created.id, extra_body={"name": None})
    assert len(list(client.beta.deployments.list(include_archived=True))) == 2, "a refused request stored nothing"


def test_run_now_starts_a_session_with_the_initial_events_that_finishes(make_server, mock_llm) -> None:
    mock = mock_llm({"rules": [{"name": "report", "last_user_regex": "nightly report", "reply": "Report written."}]})
    client = make_server(runtime=True, env=runtime_env(mock)).client()
    agent = make_agent(client)
    deployment = client.beta.deployments.create(
        name="report", agent=agent.id, environment_id=make_environment(client).id, initial_events=[message("Write the nightly report.")])

    run = client.beta.deployments.run(deployment.id)
    assert run.type == "deployment_run" and run.id.startswith("drun_") and run.error is None
    assert run.deployment_id == deployment.id and run.trigger_context.type == "manual"
    assert run.agent.id == agent.id and run.agent.version == agent.version
    session = client.beta.sessions.retrieve(run.session_id)
    assert session.deployment_id == deployment.id
    events = wait_for(client, run.session_id, lambda events: idle_count(events) >= 1)
    assert events[0].type == "user.message" and events[0].content[0].text == "Write the nightly report."
    assert any(event.type == "agent.message" and event.content[0].text == "Report written." for event in events)
    assert [r["rule"] for r in mock.requests()] == ["report"]
    assert client.beta.deployment_runs.retrieve(run.id) == run
    assert [r.id for r in client.beta.deployment_runs.list(deployment_id=deployment.id, trigger_type="manual")] == [run.id]
    assert list(client.beta.deployment_runs.list(deployment_id=deployment.id, trigger_type="schedule")) == []
    assert list(client.beta.deployment_runs.list(deployment_id="depl_unknown")) == []


def test_a_schedule_fires_once_per_minute_across_a_restart(make_server, tmp_path) -> None:
    clock = tmp_path / "clock"
    set_clock(clock, "2026-11-30T10:00:30Z")
    server = make_server(CLOCK, str(clock))
    client = server.client()
    deployment = client.beta.deployments.create(
        name="every minute", agent=make_agent(client).id, environment_id=make_environment(client).id,
        initial_events=[message("tick")], schedule={"type": "cron", "expression": "* * * * *", "timezone": "UTC"})
    assert deployment.schedule.upcoming_runs_at[:2] == [at("2026-11-30T10:01:00Z"), at("2026-11-30T10:02:00Z")]

    set_clock(clock, "2026-11-30T10:01:59Z")
    first = wait_runs(client, deployment.id, 1)
    assert first[0].trigger_context.type == "schedule" and first[0].trigger_context.scheduled_at == at("2026-11-30T10:01:00Z")
    assert first[0].session_id and client.beta.sessions.retrieve(first[0].session_id).deployment_id == deployment.id

    server.restart()
    client = server.client()
    time.sleep(2.5)  # several scheduler ticks at the same (file) time
    assert len(runs(client, deployment.id)) == 1, "the occurrence fired again after the restart"

    set_clock(clock, "2026-11-30T10:02:59Z")
    second = wait_runs(client, deployment.id, 2)
    assert [r.trigger_context.scheduled_at for r in second] == [at("2026-11-30T10:02:00Z"), at("2026-11-30T10:01:00Z")]
    assert client.beta.deployments.retrieve(deployment.id).schedule.last_run_at == second[0].created_at

    client.beta.deployments.pause(deployment.id)
    set_clock(clock, "2026-11-30T10:05:59Z")
    time.sleep(2.5)
    assert len(runs(client, deployment.id)) == 2, "a paused deployment fired"
    client.beta.deployments.unpause(deployment.id)
    set_clock(clock, "2026-11-30T10:06:59Z")
    third = wait_runs(client, deployment.id, 3)
    assert third[0].trigger_context.scheduled_at == at("2026-11-30T10:06:00Z"), "occurrences missed while paused are not backfilled"
    time.sleep(1.5)
    assert len(runs(client, deployment.id)) == 3


def test_every_sdk_webhook_type_is_accepted_and_deployment_events_arrive(make_server, receiver) -> None:  # noqa: F811
    server = make_server(ALLOW)
    client = lenient(server)
    union = typing.get_args(beta_webhook_event_data.BetaWebhookEventData)
    members = typing.get_args(union[0]) if union and typing.get_origin(union[0]) is typing.Union else union
    every_type = sorted(typing.get_args(member.model_fields["type"].annotation)[0] for member in members)
    assert "deployment_run.succeeded" in every_type and "session.status_idled" in every_type and len(every_type) > 40
    endpoint = client.beta.organization.webhooks.create(url=receiver.url, enabled_events=every_type)
    assert sorted(endpoint.enabled_events) == every_type

    agent = make_agent(client)
    environment = make_environment(client)
    deployment = client.beta.deployments.create(name="hooks", agent=agent.id, environment_id=environment.id, initial_events=[message("go")])
    client.beta.deployments.update(deployment.id, name="hooks 2")
    client.beta.deployments.pause(deployment.id)
    client.beta.deployments.unpause(deployment.id)
    succeeded = client.beta.deployments.run(deployment.id)
    client.beta.environments.archive(environment.id)
    failed = client.beta.deployments.run(deployment.id)
    assert failed.session_id is None and failed.error.type == "environment_archived_error" and "archived" in failed.error.message
    auto = client.beta.deployments.retrieve(deployment.id)
    assert auto.status == "paused" and auto.paused_reason.type == "error" and auto.paused_reason.error.type == "environment_archived_error"
    client.beta.deployments.archive(deployment.id)
    assert [r.id for r in client.beta.deployment_runs.list(deployment_id=deployment.id, has_error=True)] == [failed.id]
    assert [r.id for r in client.beta.deployment_runs.list(deployment_id=deployment.id, has_error=False)] == [succeeded.id]

    expected = {
        ("deployment.created", deployment.id), ("deployment.updated", deployment.id), ("deployment.paused", deployment.id),
        ("deployment.unpaused", deployment.id), ("deployment_run.started", succeeded.id), ("deployment_run.succeeded", succeeded.id),
        ("deployment_run.started", failed.id), ("deployment_run.failed", failed.id), ("deployment.archived", deployment.id),
        ("session.created", succeeded.session_id),
    }

    def seen(requests) -> set:
        return {(json.loads(body)["data"]["type"], json.loads(body)["data"]["id"]) for _, body in requests}

    requests = receiver.wait_for(lambda r: expected <= seen(r))
    paused = [pair for pair in seen(requests) if pair == ("deployment.paused", deployment.id)]
    assert paused and sum(1 for _, body in requests if json.loads(body)["data"]["type"] == "deployment.paused") == 2  # manual, then auto
    for headers, body in requests:
        event = verify(client, endpoint.signing_secret, headers, body)
        assert event.data.type == json.loads(body)["data"]["type"]
        if event.data.type.startswith("deployment"):
            assert type(event.data).__name__.startswith("BetaWebhookDeployment")


def test_a_deployments_budget_is_stamped_on_each_session(make_server, mock_llm, tmp_path) -> None:
    from test_budgets import budget_server

    client = budget_server(make_server, mock_llm({"rules": [], "fallback": {"reply": "ok"}}), tmp_path).client()
    environment = make_environment(client)
    budget = {"type": "limit", "max_list_cost": {"amount": "250", "currency": "USD"}}
    priced = make_agent(client, model="priced-model")
    deployment = client.beta.deployments.create(
        name="capped", agent=priced.id, environment_id=environment.id, initial_events=[message("go")], budget=budget)
    assert deployment.budget.max_list_cost.amount == "250"
    run = client.beta.deployments.run(deployment.id)
    assert client.beta.sessions.retrieve(run.session_id).budget.max_list_cost.amount == "250"
    assert client.beta.deployments.update(deployment.id, budget=None).budget is None
    assert client.beta.sessions.retrieve(client.beta.deployments.run(deployment.id).session_id).budget is None

    unpriced = make_agent(client, model="mock-model")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "mock-model"):
        client.beta.deployments.create(name="uncapped", agent=unpriced.id, environment_id=environment.id, initial_events=[message("go")], budget=budget)
