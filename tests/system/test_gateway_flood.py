"""A gateway POST flood under real processes: gunicorn (2 web workers) takes 200 loopback POSTs —
160 payloads plus 40 repeats of their Idempotency-Keys — from 8 concurrent senders while the
real django-q2 worker (``qcluster``) processes them through a payload extension into a
PostgreSQL tool table; the worker is SIGKILLed as it creates its first artifacts, the second half
of the flood arrives while it is down, and it is started again. Every payload's
artifact must then exist exactly once, and every repeated key must have answered its first
delivery. The hub's database is a fresh PostgreSQL database."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from tests.integrations.dbtargets import fresh_postgres_db
from tests.system.conftest import ROOT, free_port
from tests.system.engine_procs import FIELDS, Worker, table, wait
from tests.system.proctree import kill_tree

pytestmark = [pytest.mark.system, pytest.mark.postgres]

UNIQUE, REPEATS, SENDERS = 160, 40, 8
RESHAPE = """function reshape(payload) {
  return {summary: payload.alert.title, priority: String(payload.alert.level), status: "New"};
}"""
CONFIGURE = """
import json, sys
from extensions import services as ext_services
from extensions.models import Extension
from integrations.gateway import services
from integrations.models import Collection, Integration, RepositoryConnection, Route
spec = json.loads(sys.stdin.read())
ext_services.create(None, name="alert-shape", type="payload", source=spec["reshape"])
gw = RepositoryConnection.objects.create(name="alerts-gw", kind="gateway", url="", options={})
alerts = Collection.objects.create(name="alerts", connection=gw, projects=["ALERTS"], gateway_rate_limit=100000,
                                   field_mapping={f: f for f in spec["fields"]},
                                   payload_extension=Extension.objects.get(name="alert-shape"))
db = RepositoryConnection.objects.create(name="tool-db", kind="database", url=spec["right"],
                                         options={"table": "items", "projects": "ALPHA"})
tool = Collection.objects.create(name="tool-items", connection=db, projects=["ALPHA"],
                                 field_mapping={f: f for f in spec["fields"]})
i = Integration.objects.create(name="alerts-in", template="gateway_create", left_collection=alerts,
                               right_collection=tool, run_state="running", change_detection_interval=60)
Route.objects.create(integration=i, left_project="ALERTS", right_project="ALPHA")
print(alerts.pk, services.regenerate_token(alerts, None))
"""


def _post(url: str, token: str, key: str, payload: dict) -> tuple[int, dict]:
    """One sender's POST, retried as a sender would (same key) on a refused connection or a 5xx."""
    body = json.dumps(payload).encode()
    for attempt in range(20):
        req = urllib.request.Request(url, data=body, method="POST", headers={
            "Authorization": f"Bearer {token}", "Content-Type": "application/json", "Idempotency-Key": key})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code < 500 and exc.code != 429:
                return exc.code, json.loads(exc.read() or b"{}")
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.2 * (attempt + 1))
    raise AssertionError(f"POST {key} never answered")


def _count(right: DatabaseConnector) -> int:
    rows, _ = right._execute(f"SELECT COUNT(*) FROM {right.table}")
    return int(rows[0][0])


def _counts(hub_db: str) -> dict[str, int]:
    with psycopg.connect(hub_db) as conn:
        rows = conn.execute("SELECT status, count(*) FROM integrations_gatewaydelivery GROUP BY status").fetchall()
        pending = conn.execute("SELECT count(*) FROM integrations_pendingwork").fetchone()[0]
    return {**{s: n for s, n in rows}, "pending": pending}


def test_a_post_flood_with_repeated_keys_and_a_killed_worker_makes_each_artifact_once(engine_hub, tmp_path: Path):
    hub = engine_hub
    with fresh_postgres_db("gwtool") as right_url:
        create_work_item_table(right_url, "items", FIELDS)
        right = DatabaseConnector(right_url, {"table": "items"}, {})
        spec = {"right": right_url, "fields": FIELDS, "reshape": RESHAPE}
        done = hub.manage("shell", "-c", CONFIGURE, input=json.dumps(spec))
        assert done.returncode == 0, done.stdout + done.stderr
        collection, token = done.stdout.strip().splitlines()[-1].split()
        port = free_port()
        web_log = (tmp_path / "web.log").open("w")
        web = subprocess.Popen([sys.executable, "-m", "gunicorn", "tasktop_hub.wsgi:application", "--bind",
                                f"127.0.0.1:{port}", "--workers", "2", "--access-logfile", "-"], cwd=ROOT, env=hub.env,
                               stdout=web_log, stderr=subprocess.STDOUT, start_new_session=True)
        worker = Worker(hub, tmp_path / "worker.log")
        try:
            url = f"http://127.0.0.1:{port}/api/v1/gateway/{collection}/"
            worker.start_and_wait_running()
            rng = random.Random(12)
            sends = [(f"alert-{i:03d}", {"alert": {"title": f"flood {i:03d}", "level": i % 4 + 1}})
                     for i in range(UNIQUE)]
            sends += [sends[rng.randrange(UNIQUE)] for _ in range(REPEATS)]
            rng.shuffle(sends)
            half = len(sends) // 2
            with ThreadPoolExecutor(SENDERS) as senders:
                futures = [senders.submit(_post, url, token, key, payload) for key, payload in sends[:half]]
                # SIGKILL the worker as soon as it has created its first twin (the rest of its batch in
                # flight, no pair committed yet, most likely); the second half of the flood arrives while
                # it is down and restarting. Polled fast, so even a quick machine cannot finish first.
                deadline = time.monotonic() + 120
                while not _count(right):
                    assert time.monotonic() < deadline, worker.log.read_text()[-4000:]
                    time.sleep(0.02)
                worker.kill9()
                killed_at = _count(right)
                futures += [senders.submit(_post, url, token, key, payload) for key, payload in sends[half:]]
                worker.start_and_wait_running()
                answers = [(key, f.result()) for (key, _), f in zip(sends, futures, strict=True)]
            assert killed_at < UNIQUE, "the kill landed after the work was done: it proves nothing"
            assert {status for _, (status, _) in answers} <= {200, 202}, answers
            first: dict[str, int] = {}
            for key, (_status, body) in answers:
                assert first.setdefault(key, body["delivery"]) == body["delivery"], (key, body)
            assert sum(1 for _, (status, _) in answers if status == 202) == UNIQUE  # one new delivery per key
            wait(lambda: len(table(right)) >= UNIQUE and _counts(hub.env["DATABASE_URL"]).get("received", 0) == 0
                 and _counts(hub.env["DATABASE_URL"])["pending"] == 0, 120, "every delivery processed", worker.log)
            time.sleep(2)  # a duplicate would come from a run still in flight: give it time to show
            rows = table(right)
            titles = sorted(r.fields["summary"] for r in rows.values())
            assert titles == [f"flood {i:03d}" for i in range(UNIQUE)]  # each payload's artifact exactly once
            assert all(r.fields["priority"] == str(int(r.fields["summary"][-3:]) % 4 + 1) for r in rows.values())
            assert _counts(hub.env["DATABASE_URL"]) == {"processed": UNIQUE, "pending": 0}
            assert token not in (tmp_path / "web.log").read_text() + worker.log.read_text()
        finally:
            worker.stop()
            kill_tree(web.pid)
            web.wait()
            web_log.close()
            right.close()
