"""Takes the screenshots in docs/console/ from a live server with sample data:

    REVERIE_BIN=.build/debug/reverie .venv/bin/python tests/browser/screenshots.py [output-dir]

It starts `reverie mock-llm` and `reverie serve` (the conformance suite's fixtures), runs a
session with a tool call and a dream through them, then opens the console's main pages in
headless Chromium and saves a PNG of each."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import conformance, make_browser, sign_in  # noqa: E402
from support import TOOLSET, make_environment  # noqa: E402

EVIDENCE = [{"session": "S1", "events": ["e1"]}]
SCENARIO = {
    "rules": [
        {"name": "extract", "system_contains": "propose lessons", "reply": json.dumps(
            {"candidates": [{"kind": "workflow", "text": "Run the tests before committing.", "evidence": EVIDENCE}]})},
        {"name": "curate", "system_contains": "You maintain a memory store", "reply": json.dumps({"operations": [
            {"op": "add", "path": "/lessons/testing.md", "content": "Run `swift test` before every commit.\nFix failures first.",
             "rationale": "The user asked for the tests to be run before the commit.", "evidence": EVIDENCE},
            {"op": "update", "path": "/style.md", "content": "Prefer small functions.\nName things for what they are.\nNo grab-bag helpers.",
             "rationale": "Review comments repeated this twice.", "evidence": EVIDENCE},
        ]})},
        {"name": "tool", "last_user_contains": "check the build", "reply": [
            {"type": "thinking", "thinking": "I should look at the repository first."},
            {"type": "text", "text": "Let me look at the project first."},
            {"type": "tool_use", "name": "bash", "input": {"command": "printf 'Package.swift\\nSources\\nTests\\n'; seq 1 60"}},
        ]},
        {"name": "after tool", "last_user_contains": "Package.swift", "reply": "The project has a Package.swift, Sources and Tests. "
         "I will run the tests before committing.", "usage": {"input_tokens": 1320, "output_tokens": 42}},
    ],
    "fallback": {"reply": "Done."},
}


def main(output: Path) -> None:
    output.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="console-shots-"))
    mock = conformance.MockLLM(SCENARIO, work / "mock")
    server = conformance.ReverieServer(work / "data", runtime=True, env={"ANTHROPIC_BASE_URL": mock.url}).start()
    browser = make_browser(1280, 860)
    try:
        client = server.client()
        environment = make_environment(client)
        agent = client.beta.agents.create(name="builder", model="claude-sonnet-4-5", tools=TOOLSET, system="You build and test Swift packages.")
        client.beta.agents.update(agent.id, version=agent.version, system="You build and test Swift packages. Run the tests before committing.")
        store = client.beta.memory_stores.create(name="team-notes", description="What the team's agents learned")
        client.beta.memory_stores.memories.create(store.id, path="/style.md", content="Prefer small functions.\nUse helpers.")
        client.beta.memory_stores.memories.create(store.id, path="/lessons/release.md", content="Tag releases from main.")
        sessions = []
        for title, text in [("Check the build", "please check the build and run the tests before committing"),
                            ("Release notes", "write the release notes"), ("Triage issue 42", "look at issue 42")]:
            session = client.beta.sessions.create(agent=agent.id, environment_id=environment.id, title=title)
            client.beta.sessions.events.send(session.id, events=[{"type": "user.message", "content": [{"type": "text", "text": text}]}])
            sessions.append(session.id)
        deadline = time.monotonic() + 30
        while any(client.beta.sessions.retrieve(s).status != "idle" for s in sessions):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        dream = client.beta.dreams.create(
            inputs=[{"type": "memory_store", "memory_store_id": store.id}, {"type": "sessions", "session_ids": sessions[:1]}], model="claude-dreamer")
        while client.beta.dreams.retrieve(dream.id).status not in ("completed", "failed"):
            time.sleep(0.2)
        memory = next(m for m in client.beta.memory_stores.memories.list(store.id) if m.path == "/style.md")
        client.beta.memory_stores.memories.update(memory.id, memory_store_id=store.id, content="Prefer small functions.\nName things for what they are.")

        sign_in(browser, server.base_url)
        shots = {
            "sessions.png": "/console/sessions",
            "session-timeline.png": f"/console/sessions/{sessions[0]}",
            "memory-diff.png": f"/console/memory/{store.id}/memories/{memory.id}",
            "dream-review.png": f"/console/dreams/{dream.id}",
        }
        for name, path in shots.items():
            browser.set_window_size(1280, 700)
            browser.get(server.base_url + path)
            if name == "session-timeline.png":
                for summary in browser.find_elements("css selector", "details.tool > summary"):
                    summary.click()
            time.sleep(0.5)
            # The whole page, up to a readable height.
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.set_window_size(1280, min(max(height, 700), 1800))
            time.sleep(0.3)
            browser.save_screenshot(str(output / name))
            print(f"saved {output / name}")
    finally:
        browser.quit()
        server.close()
        mock.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "console")
