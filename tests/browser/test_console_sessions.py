"""A session's timeline in a real browser: events arriving live, tool calls expanding, agent
text rendered as text."""

from __future__ import annotations

import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from conftest import sign_in, wait
from support import make_agent, make_environment, TOOLSET

HOSTILE = '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2">'
SCENARIO = {
    "rules": [
        {"name": "list", "last_user_contains": "what files", "reply": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "name": "bash", "input": {"command": "echo console-tool-output-marker; seq 1 80"}},
        ]},
        {"name": "after list", "last_user_contains": "console-tool-output-marker", "reply": "Listed."},
        {"name": "hostile", "last_user_contains": "be hostile", "reply": HOSTILE},
        {"name": "ask", "last_user_contains": "delete the cache", "reply": [
            {"type": "tool_use", "name": "bash", "input": {"command": "echo cache-cleared"}},
        ]},
        {"name": "after ask", "last_user_contains": "cache-cleared", "reply": "The cache is gone."},
        {"name": "slow", "last_user_contains": "take your time", "hold": "answer", "reply": "Finally, the answer."},
    ],
    "fallback": {"reply": "ok"},
}


@pytest.fixture
def mock(mock_llm):
    return mock_llm(SCENARIO)


@pytest.fixture
def runtime_server(make_server, mock):
    return make_server(runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})


def _session(client, **agent_fields):
    agent = make_agent(client, tools=TOOLSET, **agent_fields)
    return client.beta.sessions.create(agent=agent.id, environment_id=make_environment(client).id, title="Console check")


def _wait_idle(client, session_id: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        events = list(client.beta.sessions.events.list(session_id))
        if any(event.type == "session.status_idle" for event in events) and client.beta.sessions.retrieve(session_id).status == "idle":
            return
        assert time.monotonic() < deadline, "the session did not go idle"
        time.sleep(0.1)


def test_running_session_events_arrive_live(runtime_server, mock, browser) -> None:
    client = runtime_server.client()
    session = _session(client)
    sign_in(browser, runtime_server.base_url, next_path=f"/console/sessions/{session.id}")
    assert browser.find_element(By.ID, "session-status").text == "idle"
    # Send the message through the console's own form; the page is not reloaded after this.
    browser.execute_script("document.body.dataset.marker = 'same-page'")
    browser.find_element(By.ID, "message-text").send_keys("take your time, please")
    browser.find_element(By.CSS_SELECTOR, "#send-message button[type=submit]").click()
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "timeline"), "take your time, please"))
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "session-status"), "running"))
    deadline = time.monotonic() + 10
    while mock.held("answer") < 1:
        assert time.monotonic() < deadline, "the model call never reached the gate"
        time.sleep(0.05)
    assert "Finally, the answer." not in browser.find_element(By.ID, "timeline").text
    mock.open_gate("answer")
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "timeline"), "Finally, the answer."))
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "session-status"), "idle"))
    assert browser.execute_script("return document.body.dataset.marker") == "same-page"
    # A span with its duration and token usage arrived too.
    spans = [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".entry.span")]
    assert any("model request" in text and " s" in text and "tokens" in text for text in spans), spans


def test_tool_call_expands_with_input_and_folded_output(runtime_server, browser) -> None:
    client = runtime_server.client()
    session = _session(client)
    client.beta.sessions.events.send(session.id, events=[{"type": "user.message", "content": [{"type": "text", "text": "what files are here?"}]}])
    _wait_idle(client, session.id)
    sign_in(browser, runtime_server.base_url, next_path=f"/console/sessions/{session.id}")
    tool = browser.find_element(By.CSS_SELECTOR, "details.tool")
    assert tool.get_attribute("open") is None
    assert not browser.find_element(By.CSS_SELECTOR, "details.tool pre.io").is_displayed()
    tool.find_element(By.TAG_NAME, "summary").click()
    assert tool.get_attribute("open") is not None
    assert "echo console-tool-output-marker" in tool.find_element(By.CSS_SELECTOR, "pre.io").text
    # The output (81 lines) is inside the call, folded after the first lines.
    output = tool.find_element(By.CSS_SELECTOR, ".tool-output .result")
    assert "console-tool-output-marker" in output.text
    fold = output.find_element(By.CSS_SELECTOR, "details.fold")
    assert "Show all" in fold.text and fold.get_attribute("open") is None
    fold.find_element(By.TAG_NAME, "summary").click()
    assert "\n80" in fold.find_element(By.CSS_SELECTOR, "pre.io").text


def test_script_in_agent_message_is_text(runtime_server, browser) -> None:
    client = runtime_server.client()
    session = _session(client)
    sign_in(browser, runtime_server.base_url, next_path=f"/console/sessions/{session.id}")
    # Once live over the stream …
    client.beta.sessions.events.send(session.id, events=[{"type": "user.message", "content": [{"type": "text", "text": "be hostile"}]}])
    wait(browser).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".entry.message.agent")))
    agent_text = browser.find_element(By.CSS_SELECTOR, ".entry.message.agent .text").text
    assert agent_text == HOSTILE
    assert browser.execute_script("return window.__pwned") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "#timeline script, #timeline img")
    # … and once rendered by the server.
    browser.refresh()
    wait(browser).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".entry.message.agent")))
    assert browser.find_element(By.CSS_SELECTOR, ".entry.message.agent .text").text == HOSTILE
    assert browser.execute_script("return window.__pwned") is None
    assert not browser.find_elements(By.CSS_SELECTOR, "#timeline script, #timeline img")
    # The session's title was escaped in the list as well.
    browser.get(runtime_server.base_url + "/console/sessions")
    assert "Console check" in browser.find_element(By.ID, "sessions").text


def test_sessions_list_filters(server, client, browser) -> None:
    agent = make_agent(client, name="filter-agent")
    environment = make_environment(client)
    titled = client.beta.sessions.create(agent=agent.id, environment_id=environment.id, title="Filter me")
    sign_in(browser, server.base_url)
    browser.get(f"{server.base_url}/console/sessions?agent={agent.id}&status=idle")
    rows = browser.find_elements(By.CSS_SELECTOR, "#sessions tbody tr")
    assert len(rows) == 1 and "Filter me" in rows[0].text and "filter-agent" in rows[0].text
    browser.get(f"{server.base_url}/console/sessions?agent={agent.id}&status=running")
    assert not browser.find_elements(By.CSS_SELECTOR, "#sessions tbody tr")
    browser.get(f"{server.base_url}/console/sessions?agent={agent.id}&created_before=2000-01-01")
    assert not browser.find_elements(By.CSS_SELECTOR, "#sessions tbody tr")
    assert titled.id


def test_confirm_a_tool_call_that_asks(runtime_server, browser) -> None:
    client = runtime_server.client()
    asking = [{"type": "agent_toolset_20260401", "configs": [{"name": "bash", "permission_policy": {"type": "always_ask"}}]}]
    agent = make_agent(client, tools=asking)
    session = client.beta.sessions.create(agent=agent.id, environment_id=make_environment(client).id)
    sign_in(browser, runtime_server.base_url, next_path=f"/console/sessions/{session.id}")
    client.beta.sessions.events.send(session.id, events=[{"type": "user.message", "content": [{"type": "text", "text": "delete the cache"}]}])
    # The request for confirmation arrives live, with its buttons.
    allow = wait(browser).until(expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, ".confirm button.primary")))
    assert "needs confirmation" in browser.find_element(By.CSS_SELECTOR, "details.tool summary").text
    allow.click()
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "timeline"), "The cache is gone."))
    assert not browser.find_elements(By.CSS_SELECTOR, ".confirm")
    confirmations = [e for e in client.beta.sessions.events.list(session.id) if e.type == "user.tool_confirmation"]
    assert len(confirmations) == 1 and confirmations[0].result == "allow"
    # The output arrived inside its call.
    browser.find_element(By.CSS_SELECTOR, "details.tool summary").click()
    assert "cache-cleared" in browser.find_element(By.CSS_SELECTOR, "details.tool .tool-output").text
