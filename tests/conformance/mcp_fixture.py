"""A small MCP server over the streamable HTTP transport, for the MCP toolset tests: JSON-RPC
POSTed to `/mcp`, `initialize` answered with an `Mcp-Session-Id`, `tools/call` answered as a
server-sent event stream (the other methods as JSON), and every request checked for
`Authorization: Bearer <token>` (401 otherwise). Tools: `echo` (returns its text), `add`
(returns the sum) and `secret_tool` (listed, for hiding with `enabled: false`). With
`refresh_token`, `/token` trades that refresh token (grant `refresh_token`) for the new access
token `issue`, which the server accepts from then on."""

from __future__ import annotations

import json
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOOLS = [
    {"name": "echo", "description": "Echoes the text back.",
     "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}},
    {"name": "add", "description": "Adds two numbers.",
     "inputSchema": {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}},
    {"name": "secret_tool", "description": "Should be hidden by the toolset's configs.", "inputSchema": {"type": "object"}},
]


class MCPServer:
    def __init__(self, token: str, *, refresh_token: str = "", issue: str = "") -> None:
        self.token = token
        self.refresh_token = refresh_token
        self.issue = issue
        self.refreshes = 0
        self.requests: list[tuple[dict[str, str], dict]] = []
        self.sessions: set[str] = set()
        self.lock = threading.Lock()
        fixture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode()
                headers = {k.lower(): v for k, v in self.headers.items()}
                if self.path == "/token":
                    form = dict(urllib.parse.parse_qsl(body))
                    if not fixture.refresh_token or form.get("refresh_token") != fixture.refresh_token:
                        return self.reply(400, {"error": "invalid_grant"})
                    with fixture.lock:
                        fixture.refreshes += 1
                        fixture.token = fixture.issue
                    return self.reply(200, {"access_token": fixture.issue, "token_type": "Bearer", "expires_in": 3600})
                message = json.loads(body)
                with fixture.lock:
                    fixture.requests.append((headers, message))
                if headers.get("authorization") != f"Bearer {fixture.token}":
                    return self.reply(401, {"error": "unauthorized"})
                method = message.get("method")
                if method != "initialize" and headers.get("mcp-session-id") not in fixture.sessions:
                    return self.reply(400, {"error": "missing or unknown Mcp-Session-Id"})
                if "id" not in message:
                    return self.reply(202, None)
                if method == "initialize":
                    session = uuid.uuid4().hex
                    with fixture.lock:
                        fixture.sessions.add(session)
                    return self.reply(200, {"jsonrpc": "2.0", "id": message["id"], "result": {
                        "protocolVersion": "2025-06-18", "capabilities": {"tools": {}}, "serverInfo": {"name": "fixture", "version": "1"}}},
                        {"mcp-session-id": session})
                if method == "tools/list":
                    return self.reply(200, {"jsonrpc": "2.0", "id": message["id"], "result": {"tools": TOOLS}})
                if method == "tools/call":
                    name = message["params"]["name"]
                    arguments = message["params"].get("arguments") or {}
                    if name == "echo":
                        result = {"content": [{"type": "text", "text": f"echo: {arguments.get('text', '')}"}]}
                    elif name == "add":
                        result = {"content": [{"type": "text", "text": f"sum = {arguments.get('a', 0) + arguments.get('b', 0)}"}]}
                    else:
                        result = {"content": [{"type": "text", "text": "no such tool"}], "isError": True}
                    return self.reply_stream({"jsonrpc": "2.0", "id": message["id"], "result": result})
                return self.reply(200, {"jsonrpc": "2.0", "id": message["id"], "error": {"code": -32601, "message": "method not found"}})

            def reply(self, status: int, value, headers: dict[str, str] | None = None) -> None:
                data = b"" if value is None else json.dumps(value).encode()
                self.send_response(status)
                for name, header in (headers or {}).items():
                    self.send_header(name, header)
                if value is not None:
                    self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def reply_stream(self, value) -> None:
                # A notification first (progress), then the response, as a server may send them.
                events = [{"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}}, value]
                data = "".join(f"event: message\ndata: {json.dumps(event)}\n\n" for event in events).encode()
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/mcp"
        self.token_url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def calls(self) -> list[dict]:
        """The `tools/call` requests that passed the bearer check."""
        with self.lock:
            return [message for headers, message in self.requests
                    if message.get("method") == "tools/call" and headers.get("authorization") == f"Bearer {self.token}"]

    def hosts(self) -> set[str]:
        """The `Host` headers requests arrived with."""
        with self.lock:
            return {headers.get("host", "") for headers, _ in self.requests}

    def authorizations(self) -> set[str]:
        with self.lock:
            return {headers.get("authorization", "") for headers, _ in self.requests}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
