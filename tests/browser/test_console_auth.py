"""Sign-in, sign-out, security headers, and refusal of unsigned-in and cross-site requests."""

from __future__ import annotations

import http.server
import threading

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions

from conftest import API_KEY, sign_in, wait
from support import make_agent, make_environment

PAGES = [
    "/console/sessions", "/console/sessions/{session}", "/console/sessions/{session}/live", "/console/agents",
    "/console/agents/{agent}", "/console/memory", "/console/memory/{store}", "/console/memory/{store}/memories/{memory}",
    "/console/dreams", "/console/webhooks", "/console/environments", "/console/environments/{environment}",
    "/console/environments/{self_hosted}", "/console/deployments", "/console/deployments/{deployment}",
]
ACTIONS = [
    "/console/sessions/{session}/message", "/console/sessions/{session}/interrupt", "/console/sessions/{session}/confirm",
    "/console/memory/{store}/memories/{memory}/pin", "/console/memory/{store}/versions/{version}/redact",
    "/console/dreams/drm_x/review", "/console/dreams/drm_x/promote", "/console/webhooks/whe_x/deliveries/whd_x/resend",
    "/console/deployments/{deployment}/run", "/console/deployments/{deployment}/pause", "/console/deployments/{deployment}/unpause",
    "/console/sign-out",
]


@pytest.fixture(scope="module")
def ids(client):
    agent = make_agent(client)
    client.beta.agents.update(agent.id, version=agent.version, system="A second version.")
    environment = make_environment(client)
    session = client.beta.sessions.create(agent=agent.id, environment_id=environment.id)
    store = client.beta.memory_stores.create(name="auth-check")
    memory = client.beta.memory_stores.memories.create(store.id, path="/a.md", content="a")
    self_hosted = client.beta.environments.create(name="workers", config={"type": "self_hosted"})
    client.beta.sessions.create(agent=agent.id, environment_id=self_hosted.id)
    deployment = client.beta.deployments.create(
        name="auth-check", agent=agent.id, environment_id=environment.id,
        initial_events=[{"type": "user.message", "content": [{"type": "text", "text": "hi"}]}])
    return {"deployment": deployment.id, "self_hosted": self_hosted.id, "session": session.id, "agent": agent.id, "environment": environment.id, "store": store.id, "memory": memory.id,
            "version": memory.memory_version_id}


def test_every_page_and_action_requires_sign_in(server, ids) -> None:
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as http:
        for path in PAGES:
            response = http.get(path.format(**ids))
            assert response.status_code == 303, (path, response.status_code)
            assert response.headers["location"].startswith("/console/sign-in?next="), path
        for path in ACTIONS:
            response = http.post(path.format(**ids), data={"text": "hi", "csrf": "guess"}, headers={"Origin": server.base_url})
            assert response.status_code == 401, (path, response.status_code)
        # An API key header is not a console sign-in.
        response = http.get("/console/sessions", headers={"x-api-key": API_KEY})
        assert response.status_code == 303
    # Nothing reached the session.
    events = list(server.client().beta.sessions.events.list(ids["session"]))
    assert not [event for event in events if event.type == "user.message"]
    assert list(server.client().beta.deployment_runs.list(deployment_id=ids["deployment"])) == []
    assert server.client().beta.deployments.retrieve(ids["deployment"]).status == "active"

    # Signed in, every page renders.
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as http:
        assert http.post("/console/sign-in", data={"api_key": API_KEY}, headers={"Origin": server.base_url}).status_code == 303
        for path in PAGES:
            if path.endswith("/live"):
                continue
            page = http.get(path.format(**ids))
            assert page.status_code == 200, (path, page.status_code, page.text[:300])
            assert "<h1" in page.text and "</html>" in page.text, path
            if "{self_hosted}" in path:
                assert "Work queue" in page.text
        missing = http.get("/console/sessions/sesn_missing")
        assert missing.status_code == 404 and "not found" in missing.text.lower()


def test_sign_in_cookie_headers_and_sign_out(server, browser) -> None:
    with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=10) as http:
        refused = http.post("/console/sign-in", data={"api_key": "wrong"}, headers={"Origin": server.base_url})
        assert refused.status_code == 401
        assert "set-cookie" not in refused.headers
        accepted = http.post("/console/sign-in", data={"api_key": API_KEY, "next": "/console/agents"}, headers={"Origin": server.base_url})
        assert accepted.status_code == 303 and accepted.headers["location"] == "/console/agents"
        cookie = accepted.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie and "Max-Age=" in cookie
        assert API_KEY not in cookie
        page = http.get("/console/agents")
        assert page.status_code == 200
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["referrer-policy"] == "same-origin"
        assert API_KEY not in page.text
        # An open redirect through `next` is refused.
        elsewhere = http.post("/console/sign-in", data={"api_key": API_KEY, "next": "//evil.example/"}, headers={"Origin": server.base_url})
        assert elsewhere.headers["location"] == "/console/sessions"

    # In the browser: a page asks for sign-in, a wrong key is refused, the right one lands on the page asked for.
    browser.get(server.base_url + "/console/memory")
    wait(browser).until(expected_conditions.presence_of_element_located((By.ID, "api_key")))
    browser.find_element(By.ID, "api_key").send_keys("not-a-key")
    browser.find_element(By.CSS_SELECTOR, "form[action='/console/sign-in'] button").click()
    wait(browser).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".notice.error")))
    assert "not valid" in browser.find_element(By.CSS_SELECTOR, ".notice.error").text
    browser.find_element(By.ID, "api_key").send_keys(API_KEY)
    browser.find_element(By.CSS_SELECTOR, "form[action='/console/sign-in'] button").click()
    wait(browser).until(expected_conditions.url_contains("/console/memory"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Memory stores"
    # The cookie is invisible to scripts.
    assert browser.execute_script("return document.cookie") == ""
    browser.find_element(By.CSS_SELECTOR, "form.sign-out button").click()
    wait(browser).until(expected_conditions.presence_of_element_located((By.ID, "api_key")))
    browser.get(server.base_url + "/console/memory")
    wait(browser).until(expected_conditions.presence_of_element_located((By.ID, "api_key")))


class _EvilSite(http.server.BaseHTTPRequestHandler):
    """Another origin (same host, other port) whose page auto-submits a form to the console."""

    target = ""

    def do_GET(self) -> None:  # noqa: N802
        body = f"""<!doctype html><html><body>
<form id="f" method="post" action="{self.target}"><input name="text" value="forged message"><input name="csrf" value="guessed"></form>
<script>document.getElementById('f').submit()</script></body></html>""".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_forged_cross_site_post_is_refused(server, browser, ids) -> None:
    sign_in(browser, server.base_url)
    target = f"{server.base_url}/console/sessions/{ids['session']}/message"
    _EvilSite.target = target
    evil = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _EvilSite)
    evil.daemon_threads = True  # Chromium keeps idle connections open; don't wait for them.
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        browser.get(f"http://127.0.0.1:{evil.server_port}/")
        wait(browser).until(expected_conditions.url_contains("/message"))
        assert "did not come from the console" in browser.find_element(By.TAG_NAME, "body").text
    finally:
        evil.shutdown()
        evil.server_close()

    # The same POST with the browser's own cookie, from scripts outside the console: refused
    # without the session's token, and refused from another origin even with the token.
    cookie = browser.get_cookie("reverie_console")
    assert cookie is not None and cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    with httpx.Client(base_url=server.base_url, cookies={"reverie_console": cookie["value"]}, follow_redirects=False, timeout=10) as console:
        no_token = console.post(f"/console/sessions/{ids['session']}/message", data={"text": "forged"}, headers={"Origin": server.base_url})
        assert no_token.status_code == 403
        wrong_token = console.post(f"/console/sessions/{ids['session']}/message", data={"text": "forged", "csrf": "x" * 43})
        assert wrong_token.status_code == 403
        page = console.get(f"/console/sessions/{ids['session']}")
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        cross = console.post(f"/console/sessions/{ids['session']}/message", data={"text": "forged", "csrf": token},
                          headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
        assert cross.status_code == 403
        same = console.post(f"/console/sessions/{ids['session']}/message", data={"text": "genuine", "csrf": token},
                         headers={"Origin": server.base_url, "Sec-Fetch-Site": "same-origin"})
        assert same.status_code == 303
    messages = [event for event in server.client().beta.sessions.events.list(ids["session"]) if event.type == "user.message"]
    assert [m.content[0].text for m in messages] == ["genuine"]
