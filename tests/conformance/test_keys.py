"""API keys end to end: `reverie keys create|list|revoke` on a data directory, and a server
taking several comma-separated keys from `REVERIE_API_KEY` beside the stored ones."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import anthropic

from conftest import ReverieServer, database_args, reverie_binary


def keys(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs `reverie keys …` on `data_dir` with a clean environment; fails the test on error."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REVERIE_", "ANTHROPIC_"))}
    result = subprocess.run(
        [str(reverie_binary()), "keys", *args, "--data-dir", str(data_dir), *database_args(data_dir)], env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"reverie keys {' '.join(args)} exited {result.returncode}: {result.stderr}"
    return result


def status(server: ReverieServer, key: str) -> int:
    """The HTTP status of listing agents with `key`."""
    try:
        server.client(api_key=key).beta.agents.list()
        return 200
    except anthropic.APIStatusError as error:
        return error.status_code


def test_stored_keys_and_comma_separated_static_keys(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    created = keys(data_dir, "create", "--name", "ci")
    secret = created.stdout.strip()
    assert secret and "\n" not in secret
    assert "the secret above is not shown again" in created.stderr
    listing = keys(data_dir, "list").stdout.strip().splitlines()
    assert len(listing) == 1
    key_id, name, _created_at, state = listing[0].split("\t")
    assert key_id.startswith("apikey_") and name == "ci" and state == "active"
    assert secret not in listing[0]

    # Two static keys, comma-separated with spaces, beside the stored key.
    server = ReverieServer(data_dir, api_key="static-one, static-two")
    try:
        server.start()
        assert status(server, "static-one") == 200
        assert status(server, "static-two") == 200
        assert status(server, secret) == 200
        assert status(server, "static-one, static-two") == 401
        assert status(server, "static-three") == 401
        server.stop()

        # Revoked while the server is down: refused after the restart; listed as revoked.
        assert keys(data_dir, "revoke", key_id).stdout.strip() == f"revoked {key_id}"
        assert keys(data_dir, "list").stdout.strip().split("\t")[3].startswith("revoked ")
        server.start()
        assert status(server, secret) == 401
        assert status(server, "static-two") == 200
    finally:
        server.close()


def test_serve_refuses_to_start_without_any_key(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    created = keys(data_dir, "create", "--name", "only")
    key_id = keys(data_dir, "list").stdout.split("\t")[0]
    assert created.stdout.strip()
    keys(data_dir, "revoke", key_id)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("REVERIE_", "ANTHROPIC_"))}
    env["REVERIE_API_KEY"] = " , "
    result = subprocess.run(
        [str(reverie_binary()), "serve", "--port", "0", "--no-runtime", "--data-dir", str(data_dir), *database_args(data_dir)],
        env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "no API key is configured" in result.stderr
