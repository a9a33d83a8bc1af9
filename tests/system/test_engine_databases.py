"""The engine under the real django-q2 worker (a ``qcluster`` subprocess on a temp HUB_HOME,
the hub's own database a fresh PostgreSQL database): two-way sync between ``database`` tables
on PostgreSQL and MariaDB, and SIGKILL of the worker at random moments during a 1,000-artifact
two-way sync."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from tests.integrations.dbtargets import fresh_mariadb_db, fresh_postgres_db
from tests.ready import prepare_process_hub
from tests.system.conftest import ROOT, Hub

pytestmark = [pytest.mark.system, pytest.mark.postgres]

FIELDS = ["summary", "status", "assignee", "priority"]
CONFIGURE = """
import json, sys
from integrations.models import Collection, Integration, RepositoryConnection, Route
spec = json.loads(sys.stdin.read())
cols = []
for name, url in (("left", spec["left"]), ("right", spec["right"])):
    conn = RepositoryConnection.objects.create(name=name + "-db", kind="database", url=url,
                                               options={"table": "items", "projects": "ALPHA"})
    cols.append(Collection.objects.create(name=name + "-items", connection=conn,
                                          projects=["ALPHA"], field_mapping={f: f for f in spec["fields"]}))
i = Integration.objects.create(name="db-sync", left_collection=cols[0], right_collection=cols[1],
                               run_state="running", change_detection_interval=10, conflict_strategy="left_wins")
Route.objects.create(integration=i, left_project="ALPHA", right_project="ALPHA")
"""
PAIRS = """
import json
from integrations.models import ArtifactPair
print(json.dumps([[p.left_id, p.right_id] for p in ArtifactPair.objects.all()]))
"""


class Worker:
    def __init__(self, hub: Hub, log: Path) -> None:
        self.hub, self.log, self.process = hub, log, None

    def start(self) -> None:
        out = self.log.open("a")
        self.process = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT,
                                        env=self.hub.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.kill9()


@pytest.fixture
def hub(tmp_path: Path, hub_env: dict[str, str]) -> Iterator[Hub]:
    with fresh_postgres_db("hubsys") as hub_db:
        env = dict(hub_env, DATABASE_URL=hub_db, HUB_ENGINE_LEASE_SECONDS="5", HUB_WORKERS="2")
        h = Hub(home=tmp_path / "home", env=env, log=tmp_path / "worker.log")
        done = h.manage("migrate", "--no-input")
        assert done.returncode == 0, done.stdout + done.stderr
        prepare_process_hub(h)
        yield h


def configure(hub: Hub, left: str, right: str) -> None:
    spec = json.dumps({"left": left, "right": right, "fields": FIELDS})
    done = hub.manage("shell", "-c", CONFIGURE, input=spec)
    assert done.returncode == 0, done.stdout + done.stderr


def pairs(hub: Hub) -> list[list[str]]:
    done = hub.manage("shell", "-c", PAIRS)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(c: DatabaseConnector) -> dict[str, object]:
    rows, _ = c._execute(f"SELECT id FROM {c.table}")
    return {a.id: a for a in c.read([str(r[0]) for r in rows])}


def in_step(hub: Hub, left: DatabaseConnector, right: DatabaseConnector, expected: int) -> bool:
    p = pairs(hub)
    if len(p) != expected:
        return False
    lrows, rrows = table(left), table(right)
    if len(lrows) != expected or len(rrows) != expected:
        return False
    return all(lrows[a].fields == rrows[b].fields for a, b in p)


def wait(predicate, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(2)
    raise AssertionError(f"timed out: {what}\n{log.read_text()[-4000:] if log.exists() else ''}")


@pytest.mark.mariadb
def test_two_way_postgresql_and_mariadb_under_the_real_worker(hub, tmp_path):
    with fresh_postgres_db("left") as left_url, fresh_mariadb_db("right") as right_url:
        for url in (left_url, right_url):
            create_work_item_table(url, "items", FIELDS)
        left = DatabaseConnector(left_url, {"table": "items"}, {})
        right = DatabaseConnector(right_url, {"table": "items"}, {})
        for n in range(40):
            left.create("ALPHA", {"summary": f"pg {n}", "status": "New"}, hub_key="")
            right.create("ALPHA", {"summary": f"maria {n}", "status": "Open"}, hub_key="")
        configure(hub, left_url, right_url)
        worker = Worker(hub, tmp_path / "worker.log")
        worker.start()
        try:
            wait(lambda: in_step(hub, left, right, 80), 120, "initial two-way sync", worker.log)
            p = pairs(hub)
            for a, _b in p[:10]:
                left.update(a, {"status": "Done on PostgreSQL"})
            for _a, b in p[10:20]:
                right.update(b, {"priority": "set on MariaDB"})
            wait(lambda: in_step(hub, left, right, 80)
                 and sum(1 for r in table(right).values() if r.fields["status"] == "Done on PostgreSQL") == 10
                 and sum(1 for r in table(left).values() if r.fields["priority"] == "set on MariaDB") == 10,
                 90, "updates both ways", worker.log)
        finally:
            worker.stop()
            left.close()
            right.close()


def test_sigkill_during_a_thousand_artifact_two_way_sync(hub, tmp_path):
    rnd = random.Random()
    with fresh_postgres_db("left") as left_url, fresh_postgres_db("right") as right_url:
        for url in (left_url, right_url):
            create_work_item_table(url, "items", FIELDS)
        left = DatabaseConnector(left_url, {"table": "items"}, {})
        right = DatabaseConnector(right_url, {"table": "items"}, {})
        for n in range(500):
            left.create("ALPHA", {"summary": f"L{n}", "status": "New"}, hub_key="")
            right.create("ALPHA", {"summary": f"R{n}", "status": "Open"}, hub_key="")
        configure(hub, left_url, right_url)
        worker = Worker(hub, tmp_path / "worker.log")
        last_left, last_right = {}, {}
        try:
            for round_no in range(10):
                worker.start()
                time.sleep(rnd.uniform(1.0, 9.0))
                worker.kill9()
                # Edits land between crashes, on both sides: they must all arrive eventually.
                lrows = list(table(left))
                for i in rnd.sample(lrows, min(15, len(lrows))):
                    value = f"left edit {round_no}"
                    left.update(i, {"status": value})
                    last_left[i] = value
                rrows = list(table(right))
                for i in rnd.sample(rrows, min(15, len(rrows))):
                    value = f"right edit {round_no}"
                    right.update(i, {"priority": value})
                    last_right[i] = value
            worker.start()
            wait(lambda: in_step(hub, left, right, 1000), 300, "convergence after 10 SIGKILLs", worker.log)
            p = pairs(hub)
            assert len({a for a, _ in p}) == len({b for _, b in p}) == 1000  # each artifact exactly one twin
            lrows, rrows = table(left), table(right)
            hub_keys = [r.hub_key for r in list(lrows.values()) + list(rrows.values()) if r.hub_key]
            assert len(hub_keys) == len(set(hub_keys)) == 1000  # every twin created once
            twin = dict(p)
            twin_back = {b: a for a, b in p}
            for i, value in last_left.items():
                assert lrows[i].fields["status"] == rrows[twin[i]].fields["status"] == value
            for i, value in last_right.items():
                assert rrows[i].fields["priority"] == lrows[twin_back[i]].fields["priority"] == value
        finally:
            worker.stop()
            left.close()
            right.close()
