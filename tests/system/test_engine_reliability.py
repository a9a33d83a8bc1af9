"""The engine's reliability under real ``qcluster`` workers on a PostgreSQL hub database:

- a worker killed after it took a run task, before the run took its lease: the run is retried
  within about one change-detection interval (not after the broker's hour-long ``retry``);
- a tool stalled longer than the run lease, with several workers and with two installations
  on one hub database: one run at a time, 0 duplicates, everything delivered after the stall.
"""

from __future__ import annotations

import re
import shutil
import time
from datetime import datetime

import psycopg
import pytest

from tests.system.engine_procs import Worker, configure, in_step, pairs, table, two_tables, wait

pytestmark = [pytest.mark.system, pytest.mark.postgres]

CLAIM_AND_DIE = """
import os
from django_q.brokers import get_broker
from integrations import tasks
from integrations.engine import dispatch
assert dispatch.dispatch_once(tasks._enqueue_run, lambda i: None), "nothing was due"  # as the dispatcher does
claimed = get_broker().dequeue()  # a worker takes the run task (locked for the broker's retry)...
print(len(claimed or []))
os._exit(0)  # ...and dies before the run takes its lease: nothing is acknowledged
"""
LOCKED_RUN_TASKS = """
from django.utils import timezone
from django_q.models import OrmQ
print(sum(1 for m in OrmQ.objects.all() if m.name() and m.name().startswith("sync-") and m.lock > timezone.now()))
"""
RUN_LINE = re.compile(r"^(\S+ \S+) INFO \d+ integrations\.engine\.runner: Run of integration \d+ (started|ended) "
                      r"\(lease (\S+)\)")


def test_a_run_task_lost_with_its_worker_is_retried_within_an_interval(engine_hub, tmp_path):
    hub = engine_hub
    with two_tables() as (left_url, right_url, left, right):
        for n in range(20):
            left.create("ALPHA", {"summary": f"L{n}", "status": "New"}, hub_key="")
        configure(hub, left_url, right_url)  # change detection every 10 s
        done = hub.manage("shell", "-c", CLAIM_AND_DIE)
        assert done.returncode == 0 and done.stdout.split()[-1] == "1", done.stdout + done.stderr
        worker = Worker(hub, tmp_path / "worker.log")
        worker.start()
        try:
            # The lost task would come back after an hour, the old re-enqueue after 120 s: it
            # must run within about one interval of the new worker starting.
            wait(lambda: in_step(hub, left, right, 20), 60, "the lost run retried", worker.log)
            done = hub.manage("shell", "-c", LOCKED_RUN_TASKS)
            assert done.stdout.split()[-1] == "0", done.stdout + done.stderr  # no ghost replayed in an hour
        finally:
            worker.stop()


def runs(*logs) -> list[tuple[datetime, datetime, str]]:
    """(start, end, lease) of every run in the workers' logs (the runner logs both ends)."""
    seen: dict[str, dict[str, datetime]] = {}
    for log in logs:
        for line in log.read_text().splitlines():
            m = RUN_LINE.match(line)
            if m:
                seen.setdefault(m[3], {})[m[2]] = datetime.strptime(m[1], "%Y-%m-%d %H:%M:%S,%f")
    assert all(len(v) == 2 for v in seen.values()), seen  # no run still going, none killed
    return sorted((v["started"], v["ended"], k) for k, v in seen.items())


def second_installation(hub, tmp_path) -> dict[str, str]:
    """Another machine's hub: its own HUB_HOME, the same secret key, vault and hub database."""
    home = tmp_path / "home2"
    home.mkdir()
    for name in ("secret_key", "vault"):
        source = hub.home / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, home / name)
    return dict(hub.env, HUB_HOME=str(home))


@pytest.mark.parametrize("layout", ["four workers", "two installations"])
def test_a_tool_stalled_longer_than_the_lease_gets_one_run_at_a_time(engine_hub, tmp_path, layout):
    hub = engine_hub  # run lease: 5 s
    stall = 20.0
    with two_tables() as (left_url, right_url, left, right):
        for n in range(300):
            left.create("ALPHA", {"summary": f"L{n}", "status": "New"}, hub_key="")
        configure(hub, left_url, right_url)
        # The stalled tool: the target table takes no writes (reads still answer) for 4 leases.
        blocker = psycopg.connect(right_url)
        blocker.execute("LOCK TABLE items IN EXCLUSIVE MODE")
        if layout == "four workers":
            workers = [Worker(hub, tmp_path / "worker.log", dict(hub.env, HUB_WORKERS="4"))]
        else:
            workers = [Worker(hub, tmp_path / "worker.log"),
                       Worker(hub, tmp_path / "worker2.log", second_installation(hub, tmp_path))]
        try:
            for w in workers:
                w.start()
            wait(lambda: any("started (lease" in w.log.read_text() for w in workers if w.log.exists()), 60,
                 "the first run", workers[0].log)
            time.sleep(stall)  # the run is blocked on its first create meanwhile
            blocker.commit()
            wait(lambda: in_step(hub, left, right, 300) or len(table(right)) > 300, 150, "delivery after the stall",
                 workers[0].log)
            time.sleep(2)
        finally:
            blocker.close()
            for w in workers:
                w.stop()
        rows = table(right)
        assert len(rows) == 300  # 0 duplicates
        assert len({r.hub_key for r in rows.values()}) == 300
        assert len(pairs(hub)) == 300
        history = runs(*(w.log for w in workers))
        assert history
        for (_, ended, a), (started, _, b) in zip(history, history[1:], strict=False):
            assert started >= ended, f"run {b} started while {a} was still running"
        # One run lived through the whole stall, holding its lease.
        assert max(e - s for s, e, _ in history).total_seconds() >= stall
