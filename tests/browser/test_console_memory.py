"""Browsing a memory store, a memory's history and the diff between two of its versions; pin
and redact from the console, checked through the API."""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from conftest import sign_in, wait


def test_browse_memory_and_its_diff(server, client, browser) -> None:
    store = client.beta.memory_stores.create(name="console-notes")
    memory = client.beta.memory_stores.memories.create(store.id, path="/guides/testing.md", content="line one\nline two\nline three")
    client.beta.memory_stores.memories.create(store.id, path="/top.md", content="top")
    client.beta.memory_stores.memories.update(memory.id, memory_store_id=store.id, content="line one\nline 2\nline three\nline four")

    sign_in(browser, server.base_url, next_path="/console/memory")
    browser.find_element(By.LINK_TEXT, "console-notes").click()
    tree = browser.find_element(By.ID, "tree")
    assert "guides/" in tree.text and "top.md" in tree.text
    browser.find_element(By.LINK_TEXT, "guides/").click()
    browser.find_element(By.LINK_TEXT, "testing.md").click()
    wait(browser).until(expected_conditions.presence_of_element_located((By.ID, "memory-content")))
    assert browser.find_element(By.ID, "memory-content").text == "line one\nline 2\nline three\nline four"
    rows = browser.find_elements(By.CSS_SELECTOR, "#versions tbody tr")
    assert len(rows) == 2
    assert "modified" in rows[0].text and "created" in rows[1].text
    assert "api" in rows[0].text  # who made the change: the API key
    removed = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#memory-diff .line.removed")]
    added = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#memory-diff .line.added")]
    assert removed == ["-line two"] and added == ["+line 2", "+line four"]

    # Pin from the console; the API sees it.
    browser.find_element(By.CSS_SELECTOR, "#pin-form button").click()
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, "#pin-form button"), "Unpin"))
    assert client.beta.memory_stores.memories.retrieve(memory.id, memory_store_id=store.id).model_extra.get("pinned") is True

    # Redact the older version (the form asks first).
    browser.find_element(By.CSS_SELECTOR, "#versions form button").click()
    browser.switch_to.alert.accept()
    wait(browser).until(expected_conditions.text_to_be_present_in_element((By.ID, "versions"), "redacted"))
    versions = client.beta.memory_stores.memory_versions.list(store.id, memory_id=memory.id)
    redacted = [v for v in versions if v.redacted_at is not None]
    assert len(redacted) == 1 and redacted[0].operation == "created"
