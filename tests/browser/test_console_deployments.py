"""A deployment in a real browser: its schedule and upcoming runs, Run now (the run links the
session it started), pause and unpause, and a failed run's error shown as text."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from conftest import sign_in, wait
from support import make_agent, make_environment


def test_run_pause_and_see_runs(server, client, browser) -> None:
    agent = make_agent(client)
    environment = make_environment(client)
    deployment = client.beta.deployments.create(
        name="<b>nightly</b> report", agent=agent.id, environment_id=environment.id,
        initial_events=[{"type": "user.message", "content": [{"type": "text", "text": "Report."}]}],
        schedule={"type": "cron", "expression": "0 2 * * *", "timezone": "Europe/Berlin"},
    )
    sign_in(browser, server.base_url)
    browser.get(server.base_url + "/console/deployments")
    link = wait(browser).until(expected_conditions.presence_of_element_located((By.LINK_TEXT, "<b>nightly</b> report")))
    assert browser.find_elements(By.TAG_NAME, "b") == [], "the name is text, not markup"
    link.click()
    wait(browser).until(expected_conditions.presence_of_element_located((By.ID, "run-now")))
    assert "0 2 * * * (Europe/Berlin)" in browser.page_source
    assert "No runs yet." in browser.page_source

    browser.find_element(By.ID, "run-now").click()
    session_link = wait(browser).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#runs a.mono")))
    run = list(client.beta.deployment_runs.list(deployment_id=deployment.id))[0]
    assert session_link.text == run.session_id and run.trigger_context.type == "manual"

    browser.find_element(By.ID, "pause").click()
    wait(browser).until(expected_conditions.presence_of_element_located((By.ID, "unpause")))
    assert browser.find_element(By.ID, "deployment-status").text == "paused"
    assert client.beta.deployments.retrieve(deployment.id).paused_reason.type == "manual"
    browser.find_element(By.ID, "unpause").click()
    wait(browser).until(expected_conditions.presence_of_element_located((By.ID, "pause")))
    assert client.beta.deployments.retrieve(deployment.id).status == "active"

    # A run that cannot start records why; the deployment pauses itself.
    client.beta.environments.archive(environment.id)
    browser.find_element(By.ID, "run-now").click()
    error = wait(browser).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "#runs .run-error")))
    assert error.text.startswith("environment_archived_error: ")
    assert "after a run failed: environment_archived_error" in browser.page_source
