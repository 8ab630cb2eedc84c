"""`environment_variable` vault credentials end to end through the official SDK: a session
with `vault_ids` runs, in its bubblewrap sandbox, bash `curl` commands with `$API_TOKEN`. The
sandbox sees only a placeholder; the egress proxy puts the real secret into the request to the
credential's host — over HTTPS, under the installation's CA — and the host not on the
credential's list receives the placeholder. Nothing the session shows, and nothing under the
data directory, holds the secret.

Test hosts are loopback addresses of this machine (127.0.0.2 with TLS under a CA the test makes
with `openssl`, 127.0.0.3 plain), admitted with `--egress-allow-network`."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from support import TOOLSET, idle_count, make_agent, unique, user_message, wait_for

SECRET = "sk-live-" + "9f3c" * 8


class Origin:
    """An HTTP(S) server on one loopback address recording each request's headers and body."""

    def __init__(self, host: str, tls: ssl.SSLContext | None = None) -> None:
        self.requests: list[tuple[str, str]] = []
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length).decode("utf-8", "replace")
                origin.requests.append((str(self.headers), body))
                self.send_response(200)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST  # noqa: N815

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for the IP address 127.0.0.2 it signs."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("openssl is needed to make the test host's certificate (Debian: apt-get install openssl)")
    ca_key, ca, key, request, certificate = (directory / name for name in ("ca.key", "ca.pem", "host.key", "host.csr", "host.pem"))
    extensions = directory / "host.ext"
    extensions.write_text("subjectAltName=IP:127.0.0.2\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")

    def run(*arguments: str) -> None:
        subprocess.run([openssl, *arguments], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=Reverie test origin CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(request), "-subj", "/CN=127.0.0.2")
    run("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial", "-out", str(certificate), "-days", "2",
        "-extfile", str(extensions))
    return ca, certificate, key


@pytest.fixture
def origins(tmp_path):
    ca, certificate, key = make_certificates(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    secure = Origin("127.0.0.2", context)
    plain = Origin("127.0.0.3")
    yield ca, secure, plain
    secure.close()
    plain.close()


def test_the_proxy_puts_the_vault_secret_into_requests_to_its_hosts_only(make_server, mock_llm, origins) -> None:
    ca, secure, plain = origins
    command = (
        f"curl -sS -m 20 --noproxy '' -H \"Authorization: Bearer $API_TOKEN\" -d \"token=$API_TOKEN\" -w ' secure=%{{http_code}}' "
        f"https://127.0.0.2:{secure.port}/report; echo; "
        f"curl -sS -m 20 --noproxy '' -H \"Authorization: Bearer $API_TOKEN\" -w ' plain=%{{http_code}}' http://127.0.0.3:{plain.port}/elsewhere; echo; "
        "env | grep API_TOKEN; grep -c API_TOKEN /proc/self/environ"
    )
    mock = mock_llm({"rules": [
        {"name": "call", "last_user_contains": "call the api", "reply": [{"type": "tool_use", "name": "bash", "input": {"command": command}}]},
        {"name": "done", "last_user_contains": "secure=", "reply": "Called."},
    ]})
    server = make_server(
        "--egress-trust-roots", str(ca), "--egress-allow-network", "127.0.0.2/32", "--egress-allow-network", "127.0.0.3/32",
        runtime=True, env={"ANTHROPIC_BASE_URL": mock.url})
    client = server.client()
    vault = client.beta.vaults.create(display_name=unique("egress"))
    credential = client.beta.vaults.credentials.create(vault.id, auth={
        "type": "environment_variable", "secret_name": "API_TOKEN", "secret_value": SECRET,
        "networking": {"type": "limited", "allowed_hosts": ["127.0.0.2"]},
        "injection_location": {"header": True, "body": True},
    })
    assert SECRET not in credential.model_dump_json()
    environment = client.beta.environments.create(
        name=unique("egress-env"), config={"type": "cloud", "networking": {"type": "limited", "allowed_hosts": ["127.0.0.2", "127.0.0.3"]}})
    agent = make_agent(client, tools=TOOLSET)
    session = client.beta.sessions.create(agent=agent.id, environment_id=environment.id, vault_ids=[vault.id])
    client.beta.sessions.events.send(session.id, events=[user_message("Please call the api.")])
    events = wait_for(client, session.id, lambda events: idle_count(events) >= 1)

    results = [event for event in events if event.type == "agent.tool_result"]
    assert results, [event.type for event in events]
    output = "".join(block.text for block in results[0].content if block.type == "text")
    assert "secure=200" in output and "plain=200" in output, output
    assert "API_TOKEN=reverie_placeholder_" in output, output
    # The credential's host got the secret, in the header and the body, over HTTPS.
    assert len(secure.requests) == 1
    headers, body = secure.requests[0]
    assert f"Authorization: Bearer {SECRET}" in headers and body == f"token={SECRET}"
    # The host not on the credential's list got the placeholder.
    assert len(plain.requests) == 1 and "Bearer reverie_placeholder_" in plain.requests[0][0] and SECRET not in plain.requests[0][0]

    # Nothing the session shows, its log or anything stored holds the secret.
    everything = json.dumps([event.model_dump(mode="json") for event in events])
    assert SECRET not in everything
    secret = SECRET.encode()
    for path in Path(server.data_dir).rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert secret not in Path(server.log_path).read_bytes()
