"""Times the console's first screen of a session with 5,000 events:

    REVERIE_BIN=.build/release/reverie .venv/bin/python tests/browser/timeline_benchmark.py

Starts `reverie serve --no-runtime` on a fresh data directory, imports one transcript of
1,000 exchanges (user message, agent message with a bash call, its result, a reply: 5,000
events) with `reverie import jsonl`, signs in to the console, then requests the session's page
20 times and prints the latency (request sent to last byte, loopback) and the page size."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import API_KEY, conformance  # noqa: E402

EXCHANGES = 1000


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="console-bench-"))
    transcript = work / "long.jsonl"
    with transcript.open("w", encoding="utf-8") as out:
        out.write(json.dumps({"title": "Five thousand events"}) + "\n")
        for index in range(EXCHANGES):
            out.write(json.dumps({"role": "user", "content": f"step {index}: count the lines"}) + "\n")
            out.write(json.dumps({"role": "assistant", "content": "Counting.", "tool_name": "bash",
                                  "tool_input": {"command": f"wc -l part{index}.csv"}, "tool_use_id": f"t{index}"}) + "\n")
            out.write(json.dumps({"role": "tool", "tool_use_id": f"t{index}", "content": "\n".join(f"{i} row" for i in range(40))}) + "\n")
            out.write(json.dumps({"role": "assistant", "content": f"part{index}.csv has 40 lines."}) + "\n")
    server = conformance.ReverieServer(work / "data").start()
    try:
        env = dict(os.environ, REVERIE_URL=server.base_url, REVERIE_API_KEY=API_KEY)
        imported = subprocess.run([str(conformance.reverie_binary()), "import", "jsonl", str(transcript)], env=env,
                                  capture_output=True, text=True, check=True)
        session_id = imported.stdout.strip().splitlines()[-1]
        events = server.client().beta.sessions.events.list(session_id, limit=1000)
        count = sum(1 for _ in events)
        with httpx.Client(base_url=server.base_url, follow_redirects=False, timeout=30) as http:
            signed = http.post("/console/sign-in", data={"api_key": API_KEY}, headers={"Origin": server.base_url})
            assert signed.status_code == 303, signed.text
            timings = []
            size = 0
            for _ in range(21):
                started = time.perf_counter()
                page = http.get(f"/console/sessions/{session_id}")
                timings.append((time.perf_counter() - started) * 1000)
                assert page.status_code == 200
                size = len(page.content)
            timings = sorted(timings[1:])  # the first request warms the caches
        print(f"events in session: {count}")
        print(f"first screen: {size} bytes; over 20 requests: p50 {statistics.median(timings):.1f} ms, "
              f"p95 {timings[18]:.1f} ms, max {timings[-1]:.1f} ms")
    finally:
        server.close()


if __name__ == "__main__":
    main()
