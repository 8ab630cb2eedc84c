"""A loopback stand-in for an MCP server behind OAuth, and its token endpoint, for the
credential tests: the MCP endpoint answers `initialize` only to `Authorization: Bearer <a
token it issued>`, and the token endpoint trades the one refresh token it knows for a new
access token (checking the client's authentication). Every request is recorded."""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional


class OAuthMCPServer:
    def __init__(self, *, valid_tokens: set[str], refresh_token: str = "", client_id: str = "", client_secret: str = "",
                 issue: str = "", auth: str = "none") -> None:
        self.valid_tokens = set(valid_tokens)
        self.refresh_token = refresh_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.issue = issue
        self.auth = auth
        self.requests: list[tuple[str, dict[str, str], str]] = []
        self.lock = threading.Lock()
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                with fixture.lock:
                    fixture.requests.append((self.path, headers, body))
                if self.path == "/token":
                    status, reply = fixture.token(headers, body)
                else:
                    status, reply = fixture.mcp(headers, body)
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.mcp_url = base + "/mcp"
        self.token_url = base + "/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def mcp(self, headers: dict[str, str], body: str) -> tuple[int, dict]:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.valid_tokens:
            # Echoes the token it was sent, so the test can check Reverie scrubs it from reports.
            return 401, {"error": "invalid_token", "detail": f"token {token} is not valid"}
        request = json.loads(body)
        return 200, {"jsonrpc": "2.0", "id": request.get("id"), "result": {"protocolVersion": "2025-06-18", "capabilities": {},
                                                                           "serverInfo": {"name": "fixture", "version": "1"}}}

    def token(self, headers: dict[str, str], body: str) -> tuple[int, dict]:
        form = dict(urllib.parse.parse_qsl(body))
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != self.refresh_token:
            return 400, {"error": "invalid_grant", "detail": f"unknown refresh token {form.get('refresh_token')}"}
        if self.auth == "client_secret_basic":
            expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if headers.get("authorization") != expected:
                return 401, {"error": "invalid_client"}
        elif self.auth == "client_secret_post":
            if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
                return 401, {"error": "invalid_client"}
        elif form.get("client_id") != self.client_id:
            return 401, {"error": "invalid_client"}
        self.valid_tokens.add(self.issue)
        return 200, {"access_token": self.issue, "token_type": "Bearer", "expires_in": 3600}

    def paths(self) -> list[str]:
        with self.lock:
            return [path for path, _, _ in self.requests]

    def last(self, path: str) -> Optional[tuple[dict[str, str], str]]:
        with self.lock:
            for request_path, headers, body in reversed(self.requests):
                if request_path == path:
                    return headers, body
        return None

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
