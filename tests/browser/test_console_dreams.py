"""Reviewing a dream change by change in the console: accept one, reject another, check the
report through the API, follow an evidence link to its event, promote."""

from __future__ import annotations

import json
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from conftest import sign_in, wait
from support import make_agent, make_environment

EVIDENCE = [{"session": "S1", "events": ["e1"]}]
EXTRACT = {"candidates": [{"kind": "workflow", "text": "Run the tests first.", "evidence": EVIDENCE}]}
CURATE = {
    "operations": [
        {"op": "add", "path": "/lessons/tests.md", "content": "Run the tests first.", "rationale": "the user asked twice", "evidence": EVIDENCE},
        {"op": "add", "path": "/lessons/style.md", "content": "Prefer small functions.", "rationale": "seen in review", "evidence": EVIDENCE},
    ]
}
SCENARIO = {
    "rules": [
        {"name": "extract", "system_contains": "propose lessons", "reply": json.dumps(EXTRACT)},
        {"name": "curate", "system_contains": "You maintain a memory store", "reply": json.dumps(CURATE)},
    ],
    "fallback": {"reply": "ok"},
}


@pytest.fixture
def dream_server(make_server, mock_llm):
    mock = mock_llm(SCENARIO)
    return make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})


def _completed_dream(client):
    store = client.beta.memory_stores.create(name="team")
    client.beta.memory_stores.memories.create(store.id, path="/readme.md", content="team notes")
    session = client.beta.sessions.create(agent=make_agent(client).id, environment_id=make_environment(client).id)
    client.beta.sessions.events.send(session.id, events=[{"type": "user.message", "content": [{"type": "text", "text": "please run the tests first"}]}])
    deadline = time.monotonic() + 20
    while client.beta.sessions.retrieve(session.id).status != "idle":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    dream = client.beta.dreams.create(
        inputs=[{"type": "memory_store", "memory_store_id": store.id}, {"type": "sessions", "session_ids": [session.id]}], model="claude-dreamer")
    deadline = time.monotonic() + 30
    while (dream := client.beta.dreams.retrieve(dream.id)).status not in ("completed", "failed", "canceled"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert dream.status == "completed", dream
    return dream, store, session


def _report(server, dream_id: str) -> dict:
    response = server.client()._client.get(
        f"{server.base_url}/v1/dreams/{dream_id}/report", headers={"x-api-key": server.api_key})
    assert response.status_code == 200, response.text
    return response.json()


def test_accept_one_reject_another_and_promote(dream_server, browser) -> None:
    client = dream_server.client()
    dream, store, session = _completed_dream(client)
    report = _report(dream_server, dream.id)
    operations = {op["path"]: op["id"] for op in report["operations"]}
    assert set(operations) == {"/lessons/tests.md", "/lessons/style.md"}

    sign_in(browser, dream_server.base_url, next_path="/console/dreams")
    browser.find_element(By.LINK_TEXT, dream.id).click()
    accept_id, reject_id = operations["/lessons/tests.md"], operations["/lessons/style.md"]
    accepted = browser.find_element(By.ID, accept_id)
    assert "the user asked twice" in accepted.text
    # The evidence is quoted and links to its event in the session's timeline.
    quote = accepted.find_element(By.CSS_SELECTOR, ".evidence li")
    assert "please run the tests first" in quote.text
    evidence_href = quote.find_element(By.TAG_NAME, "a").get_attribute("href")
    accepted.find_element(By.CSS_SELECTOR, "button[data-action=accept]").click()
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, accept_id), "accepted"))
    browser.find_element(By.ID, reject_id).find_element(By.CSS_SELECTOR, "button[data-action=reject]").click()
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, reject_id), "rejected"))

    review = {op["id"]: op["review"] for op in _report(dream_server, dream.id)["operations"]}
    assert review == {accept_id: "accepted", reject_id: "rejected"}

    # Promote what was accepted into the input store.
    browser.find_element(By.CSS_SELECTOR, "#promote button").click()
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, ".report"), "Promoted"))
    paths = {m.path for m in client.beta.memory_stores.memories.list(store.id)}
    assert "/lessons/tests.md" in paths and "/lessons/style.md" not in paths

    browser.get(evidence_href)
    event_id = evidence_href.rsplit("/", 1)[1]
    wait(browser).until(expected_conditions.presence_of_element_located((By.ID, f"ev-{event_id}")))
    assert "please run the tests first" in browser.find_element(By.ID, f"ev-{event_id}").text
