"""Session budgets through the official SDK: list cost counted from each call's tokens and the
route's price, the session stopped with `budget_reached` once it is spent, `session.usage`
snapshots, raising the budget to continue, and the refusals the SDK documents."""

from __future__ import annotations

import json

import anthropic

from support import TOOLSET, expect_error, idle_count, make_agent, make_environment, user_message, wait_for

# Each call: 100,000 input tokens at $3/Mtok and 1,000 output tokens at $15/Mtok = 31.5 cents.
STEP = {"reply": [{"type": "tool_use", "name": "bash", "input": {"command": "echo step"}}],
        "usage": {"input_tokens": 100000, "output_tokens": 1000}}


def budget_server(make_server, mock, tmp_path):
    models = tmp_path / "models.json"
    models.write_text(json.dumps({
        "providers": {"anthropic": {"type": "anthropic", "base_url": mock.url, "api_key": "test"}},
        "models": [
            {"match": "priced-*", "provider": "anthropic", "price": {"input_per_mtok": 3, "output_per_mtok": 15}},
            {"match": "*", "provider": "anthropic"},
        ],
    }))
    return make_server(runtime=True, env={"REVERIE_MODELS": str(models)})


def test_a_budgeted_session_stops_when_its_list_cost_reaches_the_budget(make_server, mock_llm, tmp_path) -> None:
    mock = mock_llm({"rules": [{"name": "steps", "sequence": [STEP] * 10}]})
    client = budget_server(make_server, mock, tmp_path).client()
    agent = make_agent(client, model="priced-model", tools=TOOLSET)
    session = client.beta.sessions.create(
        agent=agent.id, environment_id=make_environment(client).id,
        budget={"type": "limit", "max_list_cost": {"amount": "50", "currency": "USD"}})
    assert session.budget.type == "limit" and session.budget.max_list_cost.amount == "50"

    client.beta.sessions.events.send(session.id, events=[user_message("Work until stopped.")])
    # The usage snapshot is recorded when the loop stops, just after the idle status.
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1 and any(event.type == "session.usage" for event in events))
    idle = [event for event in events if event.type == "session.status_idle"][-1]
    assert idle.stop_reason.type == "budget_reached"
    assert type(idle.stop_reason).__name__ == "BetaManagedAgentsSessionBudgetReached"
    assert len(mock.requests()) == 2, "the call that would start past the budget is not made"
    usage_events = [event for event in events if event.type == "session.usage"]
    assert usage_events and usage_events[-1].usage.list_cost.amount == "63"
    assert usage_events[-1].budget.max_list_cost.amount == "50"
    retrieved = client.beta.sessions.retrieve(session.id)
    assert retrieved.usage.list_cost.amount == "63" and retrieved.usage.list_cost.currency == "USD"

    # Lowering it to what is spent is refused; raising it lets the session go on.
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "max_list_cost"):
        client.beta.sessions.update(session.id, budget={"type": "limit", "max_list_cost": {"amount": "63", "currency": "USD"}})
    client.beta.sessions.update(session.id, budget={"type": "limit", "max_list_cost": {"amount": "100", "currency": "USD"}})
    client.beta.sessions.events.send(session.id, events=[user_message("Go on.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 2)
    assert [event for event in events if event.type == "session.status_idle"][-1].stop_reason.type == "budget_reached"
    assert len(mock.requests()) == 4


def test_budget_refusals(make_server, mock_llm, tmp_path) -> None:
    mock = mock_llm({"rules": []})
    client = budget_server(make_server, mock, tmp_path).client()
    environment = make_environment(client)
    unpriced = make_agent(client, model="mock-model")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "mock-model"):
        client.beta.sessions.create(agent=unpriced.id, environment_id=environment.id,
                                    budget={"type": "limit", "max_list_cost": {"amount": "50", "currency": "USD"}})
    priced = make_agent(client, model="priced-model")
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "amount"):
        client.beta.sessions.create(agent=priced.id, environment_id=environment.id,
                                    budget={"type": "limit", "max_list_cost": {"amount": "050", "currency": "USD"}})
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "USD"):
        client.beta.sessions.create(agent=priced.id, environment_id=environment.id,
                                    budget={"type": "limit", "max_list_cost": {"amount": "50", "currency": "EUR"}})
    plain = client.beta.sessions.create(agent=priced.id, environment_id=environment.id)
    assert plain.budget is None
    with expect_error(anthropic.BadRequestError, 400, "invalid_request_error", "created"):
        client.beta.sessions.update(plain.id, budget={"type": "limit", "max_list_cost": {"amount": "50", "currency": "USD"}})
