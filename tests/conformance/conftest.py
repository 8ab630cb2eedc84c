"""Shared fixtures of the conformance suite: a real `reverie serve` process driven by the
official Anthropic SDK.

The server binary is `$REVERIE_BIN`, else `<repo>/.build/debug/reverie` (build it first).
Each test module gets its own server on a free loopback port with a fresh data directory.

With `REVERIE_TEST_DATABASE_URL` (a `postgres://` URL) every server runs on PostgreSQL
instead of SQLite: each data directory gets a schema of its own in that database
(`database_args`), so servers stay as isolated as with their own SQLite files.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import threading
from pathlib import Path
from typing import Iterator, Optional

import json

import anthropic
import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
API_KEY = "rv-test-key-0123456789"
LISTENING = re.compile(r"reverie listening on (http://127\.0\.0\.1:(\d+))")
MOCK_LISTENING = re.compile(r"mock-llm listening on (http://127\.0\.0\.1:(\d+))")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0


def reverie_binary() -> Path:
    """The `reverie` executable under test."""
    configured = os.environ.get("REVERIE_BIN")
    path = Path(configured) if configured else REPO_ROOT / ".build" / "debug" / "reverie"
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"reverie binary not found at {path}: build it (swift build) or set REVERIE_BIN", pytrace=False)
    return path


def database_schema(key: Path) -> str:
    """The PostgreSQL schema of servers whose data directory (or `database_key`) is `key`."""
    return "c_" + hashlib.sha1(str(Path(key).resolve()).encode()).hexdigest()[:24]


def database_args(key: Path) -> list[str]:
    """`--database URL` for the data directory's own schema when the suite runs on PostgreSQL
    (`REVERIE_TEST_DATABASE_URL`), else nothing (SQLite in the data directory)."""
    base = os.environ.get("REVERIE_TEST_DATABASE_URL", "")
    if not base:
        return []
    return ["--database", base + ("&" if "?" in base else "?") + "schema=" + database_schema(key)]


class ReverieServer:
    """One `reverie serve` process on a loopback port picked by the OS (`--port 0`).

    The port is read from the server's `reverie listening on http://127.0.0.1:<port>` line, so
    it changes across restarts: create clients after (re)starting. Standard error goes to
    `server.log` next to the data directory.
    """

    def __init__(
        self, data_dir: Path, *, api_key: str = API_KEY, extra_args: tuple[str, ...] = (), env: Optional[dict[str, str]] = None,
        runtime: bool = False, database_key: Optional[Path] = None,
    ) -> None:
        """`runtime=False` serves the API only (`--no-runtime`: events are stored, sessions stay
        idle), which keeps the foundation tests' event logs exact; `env` adds variables such as
        `ANTHROPIC_BASE_URL` for servers that run agents."""
        self.env = dict(env or {})
        if not runtime:
            extra_args = ("--no-runtime", *extra_args)
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Servers with the same key share one PostgreSQL schema (default: their data directory).
        self.database_key = Path(database_key) if database_key is not None else self.data_dir
        self.api_key = api_key
        self.extra_args = tuple(extra_args)
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}-server.log"
        self.process: Optional[subprocess.Popen[str]] = None
        self.port: Optional[int] = None
        self.base_url: Optional[str] = None
        self.starts = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> "ReverieServer":
        assert self.process is None or self.process.poll() is not None, "server already running"
        env = {key: value for key, value in os.environ.items() if not key.startswith(("REVERIE_", "ANTHROPIC_"))}
        env["REVERIE_API_KEY"] = self.api_key
        env.update(self.env)
        command = [
            str(reverie_binary()), "serve", "--port", "0", "--data-dir", str(self.data_dir), *database_args(self.database_key), *self.extra_args,
        ]
        log = open(self.log_path, "a", encoding="utf-8")
        log.write(f"--- start #{self.starts + 1}: {' '.join(command)}\n")
        log.flush()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True, bufsize=1
        )
        log.close()
        self.process = process
        self.starts += 1
        found = threading.Event()
        lines: list[str] = []

        def pump() -> None:
            # Reads stdout for the whole life of the process so the pipe never fills.
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                match = LISTENING.search(line)
                if match and not found.is_set():
                    self.base_url, self.port = match.group(1), int(match.group(2))
                    found.set()
            found.set()

        threading.Thread(target=pump, name=f"reverie-stdout-{process.pid}", daemon=True).start()
        if not found.wait(START_TIMEOUT) or self.port is None or process.poll() is not None:
            self._terminate_quietly()
            raise RuntimeError(
                f"reverie did not report its port within {START_TIMEOUT}s; stdout={''.join(lines)!r}\n"
                f"stderr (tail):\n{self.log_tail()}"
            )
        return self

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """Graceful shutdown with SIGTERM; returns the exit status."""
        process = self._running()
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise AssertionError(f"reverie did not exit within {timeout}s of SIGTERM\n{self.log_tail()}")

    def kill(self) -> int:
        """`kill -9`: no chance to flush or clean up."""
        process = self._running()
        process.send_signal(signal.SIGKILL)
        return process.wait(STOP_TIMEOUT)

    def restart(self) -> "ReverieServer":
        """SIGTERM, then start again on the same data directory."""
        status = self.stop()
        assert status == 0, f"reverie exited with status {status} on SIGTERM\n{self.log_tail()}"
        return self.start()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _running(self) -> subprocess.Popen[str]:
        assert self.process is not None and self.process.poll() is None, "server is not running"
        return self.process

    def _terminate_quietly(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def close(self) -> None:
        """Stops the server if it still runs (fixture teardown)."""
        if self.running:
            try:
                self.stop()
            except AssertionError:
                pass
        self._terminate_quietly()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- clients ----------------------------------------------------------------------------

    def client(self, *, api_key: Optional[str] = None, **options) -> anthropic.Anthropic:
        """An SDK client that validates every response strictly and never retries."""
        assert self.base_url is not None, "server not started"
        options.setdefault("timeout", 15.0)
        return anthropic.Anthropic(
            base_url=self.base_url,
            api_key=api_key if api_key is not None else self.api_key,
            _strict_response_validation=True,
            max_retries=0,
            **options,
        )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReverieServer]:
    """A server shared by the tests of one module, on a fresh data directory."""
    instance = ReverieServer(tmp_path_factory.mktemp("reverie") / "data").start()
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def client(server: ReverieServer) -> anthropic.Anthropic:
    return server.client()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator:
    """Factory for servers private to one test (own data directory, own flags)."""
    created: list[ReverieServer] = []

    def factory(
        *extra_args: str, data_dir: Optional[Path] = None, start: bool = True, env: Optional[dict[str, str]] = None, runtime: bool = False
    ) -> ReverieServer:
        instance = ReverieServer(data_dir or tmp_path / f"data{len(created)}", extra_args=tuple(extra_args), env=env, runtime=runtime)
        created.append(instance)
        return instance.start() if start else instance

    yield factory
    for instance in created:
        instance.close()


class MockLLM:
    """A `reverie mock-llm --port 0 --scenario <file>` process: the model server of runtime
    tests (see docs/mock-llm.md). Point a server at it with `env={"ANTHROPIC_BASE_URL": mock.url}`."""

    def __init__(self, scenario: dict, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.scenario_path = directory / "scenario.json"
        self.scenario_path.write_text(json.dumps(scenario), encoding="utf-8")
        self.log_path = directory / "mock-llm.log"
        command = [str(reverie_binary()), "mock-llm", "--port", "0", "--scenario", str(self.scenario_path), "--log-level", "warning"]
        log = open(self.log_path, "a", encoding="utf-8")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, text=True, bufsize=1)
        log.close()
        self.url: Optional[str] = None
        found = threading.Event()

        def pump() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                match = MOCK_LISTENING.search(line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=pump, name=f"mock-llm-stdout-{self.process.pid}", daemon=True).start()
        if not found.wait(START_TIMEOUT) or self.url is None:
            self.close()
            raise RuntimeError(f"mock-llm did not report its port within {START_TIMEOUT}s")
        self.http = httpx.Client(base_url=self.url, timeout=10.0)

    def set_scenario(self, scenario: dict) -> None:
        """Replaces the scenario (and resets the rules' match counts)."""
        response = self.http.put("/_mock/scenario", content=json.dumps(scenario))
        assert response.status_code == 200, response.text

    def requests(self) -> list[dict]:
        """The model requests received so far, oldest first."""
        response = self.http.get("/_mock/requests")
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def held(self, gate: str) -> int:
        """How many model calls wait at the gate `gate` (steps with `"hold": gate`)."""
        response = self.http.get(f"/_mock/gates/{gate}")
        assert response.status_code == 200, response.text
        return response.json()["held"]

    def open_gate(self, gate: str) -> None:
        """Opens `gate` for good: the calls held there are answered, and later ones pass."""
        response = self.http.post(f"/_mock/gates/{gate}")
        assert response.status_code == 200, response.text

    def close(self) -> None:
        if getattr(self, "http", None) is not None:
            self.http.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def mock_llm(tmp_path: Path) -> Iterator:
    """Factory for mock model servers private to one test: `mock_llm(scenario_dict)`."""
    created: list[MockLLM] = []

    def factory(scenario: dict) -> MockLLM:
        instance = MockLLM(scenario, tmp_path / f"mock{len(created)}")
        created.append(instance)
        return instance

    yield factory
    for instance in created:
        instance.close()
