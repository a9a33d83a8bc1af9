"""Engine soak under real workers: SIGKILLs during a two-way sync, and a stalled tool.

    .venv/bin/python bench/engine_kill_soak.py soak [--kills 50] [--artifacts 5000]
    .venv/bin/python bench/engine_kill_soak.py stall [--seconds 150] [--artifacts 1000]
    .venv/bin/python bench/engine_kill_soak.py          # both, with these defaults (≈ 20 minutes)

``soak``: a hub on a fresh PostgreSQL database, one ``qcluster`` (2 workers), a PostgreSQL
table ↔ a MariaDB table (half the artifacts on each side), change detection every 10 s,
run lease 60 s (the default). The cluster is SIGKILLed (whole process group) a random 1–9 s
after it reports running, ``--kills`` times, and restarted at once; between kills, 15 random rows per side are
edited (status on the left, priority on the right — twins included). Reports the pairs committed
between kills, the longest stretch of kills without progress while work remained, the time to
converge after the last restart, duplicates and lost edits.

``stall``: the same hub with two installations (two ``HUB_HOME``s, one hub database, a
``qcluster`` of 2 workers each), ``--artifacts`` new rows on the PostgreSQL side and the target
table locked against writes for ``--seconds`` from the first run's start. Reports runs that
overlapped, duplicates, the longest run, and when everything was delivered after the stall.

The small versions are in the suite: tests/system/test_engine_databases.py (10 kills) and
tests/system/test_engine_reliability.py (a 20 s stall, lease 5 s).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from _hub import bootstrap

bootstrap("kill-soak-client")  # this process, the client: the hubs it drives have HUB_HOMEs of their own (make_hub)

import psycopg  # noqa: E402

from integrations.connectors.database import DatabaseConnector  # noqa: E402
from tests.integrations.dbtargets import fresh_postgres_db  # noqa: E402
from tests.ready import prepare_process_hub  # noqa: E402
from tests.system.conftest import ADMIN_PASSWORD, ADMIN_USER, Hub  # noqa: E402
from tests.system.engine_procs import Worker, configure, in_step, pairs, table, two_tables  # noqa: E402
from tests.system.test_engine_reliability import runs, second_installation  # noqa: E402


def make_hub(tmp: Path, hub_db: str) -> Hub:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUB_", "DATABASE_URL", "DJANGO_"))}
    env.update({"HUB_HOME": str(tmp / "home"), "HUB_ADMIN_USER": ADMIN_USER, "HUB_ADMIN_PASSWORD": ADMIN_PASSWORD,
                "PYTHONUNBUFFERED": "1", "DATABASE_URL": hub_db, "HUB_WORKERS": "2"})
    hub = Hub(home=tmp / "home", env=env, log=tmp / "worker.log")
    for cmd in (("migrate", "--no-input"), ("createcachetable",)):
        done = hub.manage(*cmd)
        assert done.returncode == 0, done.stdout + done.stderr
    prepare_process_hub(hub)
    return hub


def pair_count(hub_db: str) -> int:
    with psycopg.connect(hub_db) as conn:
        return conn.execute("SELECT count(*) FROM integrations_artifactpair").fetchone()[0]


def some_ids(connector: DatabaseConnector, n: int) -> list[str]:
    rand = "rand()" if connector.url.startswith("mysql") else "random()"
    rows, _ = connector._execute(f"SELECT id FROM {connector.table} ORDER BY {rand} LIMIT {n}")
    return [str(r[0]) for r in rows]


def soak(kills: int, artifacts: int) -> None:
    rnd = random.Random()
    tmp = Path(tempfile.mkdtemp(prefix="kill-soak-"))
    with fresh_postgres_db("soakhub") as hub_db, two_tables("mariadb") as (left_url, right_url, left, right):
        hub = make_hub(tmp, hub_db)
        for n in range(artifacts // 2):
            left.create("ALPHA", {"summary": f"L{n}", "status": "New"}, hub_key="")
            right.create("ALPHA", {"summary": f"R{n}", "status": "Open"}, hub_key="")
        configure(hub, left_url, right_url)
        worker = Worker(hub, tmp / "worker.log")
        counts, last_left, last_right = [], {}, {}
        started = time.monotonic()
        try:
            for round_no in range(kills):
                worker.start_and_wait_running()
                time.sleep(rnd.uniform(1.0, 9.0))
                worker.kill9()
                counts.append(pair_count(hub_db))
                for connector, field, last in ((left, "status", last_left), (right, "priority", last_right)):
                    for i in some_ids(connector, 15):
                        value = f"edit {round_no}"
                        connector.update(i, {field: value})
                        last[i] = value
            kill_phase = time.monotonic() - started
            worker.start()
            restart = time.monotonic()
            while not in_step(hub, left, right, artifacts):
                time.sleep(2)
            converge = time.monotonic() - restart
        finally:
            worker.stop()
        p = pairs(hub)
        lrows, rrows = table(left), table(right)
        twin, back = dict(p), {b: a for a, b in p}
        lost = sum(1 for i, v in last_left.items() if rrows[twin[i]].fields["status"] != v) + \
            sum(1 for i, v in last_right.items() if lrows[back[i]].fields["priority"] != v)
        keys = [r.hub_key for r in list(lrows.values()) + list(rrows.values()) if r.hub_key]
        gains = [b - a for a, b in zip([0, *counts], counts, strict=False)]
        stretch = longest = 0
        for gain, before in zip(gains, [0, *counts], strict=False):
            stretch = 0 if gain or before >= artifacts else stretch + 1
            longest = max(longest, stretch)
        print(f"kills: {kills}, artifacts: {artifacts}, kill phase {kill_phase:.0f} s")
        print(f"pairs after each kill: {counts}")
        print(f"kill intervals with progress: {sum(1 for g in gains if g)} of {kills}; "
              f"longest run of kills without progress while work remained: {longest}")
        print(f"converged {converge:.1f} s after the last restart")
        print(f"pairs: {len(p)}, left rows: {len(lrows)}, right rows: {len(rrows)}, "
              f"duplicate hub keys: {len(keys) - len(set(keys))}, twins created: {len(keys)}")
        print(f"edits: {len(last_left) + len(last_right)} last values checked, lost: {lost}")
    print(f"worker logs: {tmp}")


def stall(seconds: float, artifacts: int) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="stall-"))
    with fresh_postgres_db("stallhub") as hub_db, two_tables() as (left_url, right_url, left, right):
        hub = make_hub(tmp, hub_db)
        for n in range(artifacts):
            left.create("ALPHA", {"summary": f"L{n}", "status": "New"}, hub_key="")
        configure(hub, left_url, right_url)
        blocker = psycopg.connect(right_url)
        blocker.execute("LOCK TABLE items IN EXCLUSIVE MODE")
        workers = [Worker(hub, tmp / "worker.log"), Worker(hub, tmp / "worker2.log", second_installation(hub, tmp))]
        try:
            for w in workers:
                w.start()
            while not any("started (lease" in w.log.read_text() for w in workers if w.log.exists()):
                time.sleep(0.2)
            time.sleep(seconds)
            blocker.commit()
            released = time.monotonic()
            while not (in_step(hub, left, right, artifacts) or len(table(right)) > artifacts):
                time.sleep(1)
            delivered = time.monotonic() - released
            time.sleep(2)
        finally:
            blocker.close()
            for w in workers:
                w.stop()
        history = runs(*(w.log for w in workers))
        overlaps = sum(1 for (_, e, _), (s, _, _) in zip(history, history[1:], strict=False) if s < e)
        rows = table(right)
        keys = [r.hub_key for r in rows.values()]
        print(f"stall {seconds:.0f} s, {artifacts} sources, two installations (2 workers each), lease 60 s")
        print(f"runs: {len(history)}, overlapping: {overlaps}, longest run: "
              f"{max((e - s).total_seconds() for s, e, _ in history):.1f} s")
        print(f"right rows: {len(rows)}, duplicates: {len(keys) - len(set(keys))}, pairs: {len(pairs(hub))}")
        print(f"all delivered {delivered:.1f} s after the stall ended")
    print(f"worker logs: {tmp}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what")  # none: both, with their defaults (`make bench`)
    s = sub.add_parser("soak")
    s.add_argument("--kills", type=int, default=50)
    s.add_argument("--artifacts", type=int, default=5000)
    t = sub.add_parser("stall")
    t.add_argument("--seconds", type=float, default=150.0)
    t.add_argument("--artifacts", type=int, default=1000)
    args = parser.parse_args()
    if args.what in ("soak", None):
        soak(getattr(args, "kills", 50), getattr(args, "artifacts", 5000))
    if args.what in ("stall", None):
        stall(getattr(args, "seconds", 150.0), getattr(args, "artifacts", 1000))


if __name__ == "__main__":
    main()
