"""What one remote call costs the hub, and what the fake tracker can serve.

Run: ``.venv/bin/python bench/http_client.py`` (about 20 s). The fake tracker runs in its own
process, so the CPU figures are the hub side's only (``time.process_time`` of this process).

- CPU per call: ``HttpClient.get_json`` of one issue, keep-alive, no latency; for comparison,
  ``requests.Session`` and bare urllib3 doing the same.
- Throughput at 20 ms latency and concurrency 1/10/20 (threads sharing one client), as a ratio
  to the latency bound ``concurrency / 20 ms``: what the engine's benchmark (a) can reach at most.
- The redmine connector against 100,000 issues: an idle change poll (1 call), a full read of
  100,000 issues by id (calls = 100,000 / 100).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
import urllib3  # noqa: E402

from integrations.connectors import http  # noqa: E402
from integrations.connectors.redmine import RedmineConnector  # noqa: E402
from integrations.connectors.redmine import fields as rf  # noqa: E402

KEY = {"X-Redmine-API-Key": "fake-api-key"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fake(latency: float = 0.0, issues: int = 500, step: float = 0.001) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.fakes.tracker", "--port", str(port), "--latency", str(latency),
                             "--issues", str(issues), "--step", str(step)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    assert proc.stdout is not None
    proc.stdout.readline()  # the server prints its URL once it listens
    return proc, f"http://127.0.0.1:{port}"


def cpu_per_call(fn, n: int = 2000) -> float:
    for i in range(50):
        fn(i)
    start = time.process_time()
    for i in range(n):
        fn(i)
    return (time.process_time() - start) / n * 1000


def main() -> None:
    proc, base = fake()
    try:
        client = http.HttpClient(base, headers=KEY)
        session = requests.Session()
        pool = urllib3.PoolManager()
        rows = [
            ("HttpClient.get_json", cpu_per_call(lambda i: client.get_json(f"/issues/{i % 500 + 1}.json"))),
            ("requests.Session", cpu_per_call(
                lambda i: session.get(f"{base}/issues/{i % 500 + 1}.json", headers=KEY).json())),
            ("urllib3 alone", cpu_per_call(
                lambda i: json.loads(pool.request("GET", f"{base}/issues/{i % 500 + 1}.json", headers=KEY).data))),
        ]
    finally:
        proc.terminate()
    print("CPU per call (hub side, ms):")
    for name, ms in rows:
        print(f"  {name:22s} {ms:.3f}")

    proc, base = fake(latency=0.02)
    try:
        client = http.HttpClient(base, headers=KEY)
        print("Throughput at 20 ms latency (ratio to concurrency / 20 ms):")
        for concurrency in (1, 10, 20):
            n = 100 if concurrency == 1 else 1000
            start = time.perf_counter()
            with ThreadPoolExecutor(concurrency) as threads:
                list(threads.map(lambda i: client.get_json(f"/issues/{i % 500 + 1}.json"), range(n)))
            rate = n / (time.perf_counter() - start)
            print(f"  concurrency {concurrency:2d}: {rate:6.0f} calls/s, bound {concurrency / 0.02:5.0f}, "
                  f"ratio {rate / (concurrency / 0.02):.2f}")
    finally:
        proc.terminate()

    for step, label in ((1.0, "1 issue per second"), (0.001, "1,000 issues per second")):
        proc, base = fake(issues=100_000, step=step)
        try:
            connector = RedmineConnector(base, {}, {"api_key": "fake-api-key"})
            connector.fields(), connector.projects()
            # The cursor after a completed detection: the newest issue's stamp and id.
            newest = connector.client.get_json("/issues.json", params={
                "project_id": "demo", "status_id": "*", "sort": "updated_on:desc,id:desc", "limit": 1})["issues"][0]
            cursor = (rf.parse_time(newest["updated_on"]), str(newest["id"]))
            sent = connector.client.requests_sent
            start = time.perf_counter()
            idle = connector.changes_after("demo", cursor[0], cursor, 100)
            print(f"Idle change poll over 100,000 issues, {label}: {connector.client.requests_sent - sent} call(s), "
                  f"{(time.perf_counter() - start) * 1000:.1f} ms, {len(idle.artifacts)} artifacts")
            if step == 1.0:
                continue
            sent = connector.client.requests_sent
            start = time.perf_counter()
            got = connector.read([str(i) for i in range(1, 100_001)])
            print(f"Full read of {len(got):,} issues by id: {connector.client.requests_sent - sent} calls, "
                  f"{time.perf_counter() - start:.1f} s wall")
        finally:
            proc.terminate()


if __name__ == "__main__":
    main()
