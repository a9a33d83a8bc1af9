"""The engine as real processes: a hub on a fresh PostgreSQL database, ``qcluster`` workers
(SIGKILL-able), two ``database`` tables, and probes that read the hub's and the tools' state."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from tests.integrations.dbtargets import fresh_mariadb_db, fresh_postgres_db
from tests.system.conftest import ROOT, Hub

# django-q2's "Q Cluster <words> [<queue>] running.": the queue is the installation's own
# (tasktop_hub/queue.py), "tasktop_hub-<8 hex>".
CLUSTER_RUNNING = re.compile(r"\[tasktop_hub-[0-9a-f]{8}\] running\.")


def clusters_running_in(log: Path) -> int:
    """How many times a cluster logging to ``log`` reported running."""
    return len(CLUSTER_RUNNING.findall(log.read_text())) if log.exists() else 0


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
    """One ``qcluster`` (a cluster of ``HUB_WORKERS`` worker processes) of one installation."""

    def __init__(self, hub: Hub, log: Path, env: dict[str, str] | None = None) -> None:
        self.hub, self.log, self.process = hub, log, None
        self.env = env or hub.env

    def start(self) -> None:
        out = self.log.open("a")
        self.process = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "qcluster"], cwd=ROOT,
                                        env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def clusters_running(self) -> int:
        return clusters_running_in(self.log)

    def start_and_wait_running(self, timeout: float = 120) -> None:
        """Start, and return once the new cluster reports running: a kill after this lands at a
        point of the worker's life, not of its start-up (which takes seconds on a loaded machine)."""
        before = self.clusters_running()
        self.start()
        deadline = time.monotonic() + timeout
        while self.clusters_running() == before:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError(f"the cluster did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill9(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.kill9()


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


@contextmanager
def two_tables(right_vendor: str = "postgresql") -> Iterator[tuple[str, str, DatabaseConnector, DatabaseConnector]]:
    """Fresh work-item tables: PostgreSQL on the left, PostgreSQL or MariaDB on the right.
    Yields (left URL, right URL, left connector, right connector)."""
    fresh_right = fresh_mariadb_db if right_vendor == "mariadb" else fresh_postgres_db
    with fresh_postgres_db("left") as left_url, fresh_right("right") as right_url:
        for url in (left_url, right_url):
            create_work_item_table(url, "items", FIELDS)
        left = DatabaseConnector(left_url, {"table": "items"}, {})
        right = DatabaseConnector(right_url, {"table": "items"}, {})
        try:
            yield left_url, right_url, left, right
        finally:
            left.close()
            right.close()
