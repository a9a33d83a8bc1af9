"""How fast the instance lease changes hands between two installations, work flowing.

    .venv/bin/python bench/instance_lease_takeover.py [--rounds 5] [--hold 15] [--keep]

Real processes, as tests/system/test_instance_lease.py runs them: a hub database on a fresh
PostgreSQL database (migrated here), installation A (its own ``HUB_HOME``, a ``qcluster`` of 2
workers) syncing a PostgreSQL table to another (change detection every 10 s, a new row on the
left every second, so every run has work). Then ``--rounds`` rounds, alternately:

* takeover: a new installation (a new ``HUB_HOME``) starts on the same database — its first
  process (``manage.py storage status``) takes the lease — then its ``qcluster`` starts;
* override: A runs ``manage.py storage override --yes`` and takes the lease back.

For each round, from the moment that command returns (t0), from the workers' log lines:

* gate: the previous holder's dispatcher logs that it ends its loop and hands over (its
  processing gate closed: it enqueues no more runs). Negative when that happened before the
  command returned (the lease row changes hands inside the command); "—" when the previous
  holder had no dispatcher loop going to log it (its workers still skip queued runs);
* last run: the previous holder's last run ends (0 when it had none in flight and started none);
  the runs it started after t0 are counted too (expected: 0);
* first run: the new holder logs the start of its first run (a takeover includes the new
  ``qcluster``'s start-up).

Each holder then processes ``--hold`` seconds before the next round.

Prints each round, then min/median/max of each measure and the load average. Temporary
``HUB_HOME``s (removed unless ``--keep``), databases dropped and workers killed on exit, Ctrl-C
and SIGTERM included. Default settings (HUB_INSTANCE_LEASE_CHECK_SECONDS 2 s, run lease 60 s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from _hub import bootstrap

CLIENT = bootstrap("lease-takeover-client")  # this process, the client: the hubs it drives have HUB_HOMEs of their own

from integrations.connectors.database import DatabaseConnector  # noqa: E402
from tests.integrations.dbtargets import fresh_postgres_db  # noqa: E402
from tests.ready import SYSTEM_MASTER_PASSWORD, prepare_process_hub  # noqa: E402
from tests.system.conftest import Hub, base_env  # noqa: E402
from tests.system.engine_procs import Worker, configure, two_tables, wait  # noqa: E402
from tests.system.test_instance_lease import lease_state, runs  # noqa: E402

TIMEOUT = 240.0  # per wait: an override's new holder restarts its dispatcher from the every-minute schedule
HAND_OVER = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*The dispatcher loop ends and hands over")


def stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f")


def hand_overs(log: Path) -> list[datetime]:
    lines = log.read_text().splitlines() if log.exists() else []
    return [stamp(m.group(1)) for m in map(HAND_OVER.match, lines) if m]


def installation(root: Path, name: str, hub_db: str, first: Hub | None) -> Hub:
    """A new installation on ``hub_db``: its own HUB_HOME (hence installation id and queue)."""
    env = dict(base_env(root / name), DATABASE_URL=hub_db, HUB_WORKERS="2")
    hub = Hub(home=root / name, env=env, log=root / f"{name}.log")
    if first is None:
        for command in (("migrate", "--no-input"), ("createcachetable",)):
            done = hub.manage(*command)
            assert done.returncode == 0, done.stdout + done.stderr
        prepare_process_hub(hub)
    else:  # as the system test's B: the license and the vault are in the shared database already
        env["HUB_LICENSE_TRUSTED_KEYS"] = first.env["HUB_LICENSE_TRUSTED_KEYS"]
        env["HUB_MASTER_PASSWORD"] = SYSTEM_MASTER_PASSWORD
    return hub


def feed(url: str, stop: threading.Event) -> None:
    """A new row on the left every second: work for every run."""
    left = DatabaseConnector(url, {"table": "items"}, {})
    try:
        n = 0
        while not stop.wait(1.0):
            left.create("ALPHA", {"summary": f"flow {n}", "status": "New"}, hub_key="")
            n += 1
    finally:
        left.close()


def taken_at(state: dict) -> datetime:
    """When the lease changed hands (the lease row's UTC time), as the workers' log lines give time: local."""
    return datetime.fromisoformat(state["taken_at"]).astimezone().replace(tzinfo=None)


def measure(previous: Worker, holder: Worker, taken: datetime, t0: datetime) -> tuple[float | None, float, int, float]:
    """(gate, last run, runs the previous holder started after t0, first run) in seconds after t0
    (see the module's doc)."""
    # Polled every 2 s (engine_procs.wait); the figures come from the log lines' own times.
    wait(lambda: [s for s, _ in runs(holder.log) if s > t0], TIMEOUT, "the new holder's first run", holder.log)
    first = min(s for s, _ in runs(holder.log) if s > t0)
    # The previous holder may still finish a run begun before its gate closed: wait for it to end.
    wait(lambda: all(e != datetime.max for _, e in runs(previous.log)), TIMEOUT, "the previous holder's run to end",
         previous.log)
    # The gate may close before the command returns (the lease row changed hands inside it): the
    # first hand-over after the change counts, negative then.
    gate = next((at for at in hand_overs(previous.log) if at >= taken), None)
    ends = [e for _, e in runs(previous.log) if e > t0]
    last = max(ends) if ends else t0
    late = sum(1 for s, _ in runs(previous.log) if s > t0)
    return ((gate - t0).total_seconds() if gate else None, (last - t0).total_seconds(), late,
            (first - t0).total_seconds())


def bench(rounds: int, hold: float, root: Path) -> None:
    load_before = os.getloadavg()
    workers: list[Worker] = []
    stop = threading.Event()
    with fresh_postgres_db("leasebench") as hub_db, two_tables() as (left_url, right_url, _left, _right):
        try:
            a = installation(root, "a", hub_db, None)
            configure(a, left_url, right_url)
            worker_a = Worker(a, a.log)
            workers.append(worker_a)
            worker_a.start()
            feeder = threading.Thread(target=feed, args=(left_url, stop), daemon=True)
            feeder.start()
            wait(lambda: runs(a.log), TIMEOUT, "A's first run", a.log)
            rows, newest = [], None
            for n in range(rounds):
                if n % 2 == 0:  # takeover by a new installation
                    hub = installation(root, f"new{n // 2 + 1}", hub_db, a)
                    state = lease_state(hub)  # its first process: it takes the lease
                    t0 = datetime.now()
                    taken = taken_at(state)
                    assert state["held_by_this_installation"] and state["how"] == "takeover", state
                    newest = Worker(hub, hub.log)
                    workers.append(newest)
                    newest.start()
                    previous, holder = worker_a, newest
                else:  # A takes the lease back; the newest installation's worker keeps running meanwhile
                    done = a.manage("storage", "override", "--yes")
                    t0 = datetime.now()
                    assert done.returncode == 0, done.stdout + done.stderr
                    taken = taken_at(json.loads(done.stdout[done.stdout.index("{"):]))
                    previous, holder = newest, worker_a
                gate, last, late, first = measure(previous, holder, taken, t0)
                rows.append(("takeover" if n % 2 == 0 else "override", gate, last, first))
                print(f"round {n + 1} {rows[-1][0]:<8}  command returned {(t0 - taken).total_seconds():4.1f} s "
                      f"after the lease changed hands;  gate {fmt(gate)}  last run {last:5.1f} s "
                      f"({late} started after t0)  first run {first:5.1f} s", flush=True)
                time.sleep(hold)  # work flows under the new holder a while before the next change
                if n % 2 == 1:  # the overridden installation stays lost: stop its worker (2 cores)
                    newest.stop()
        finally:
            stop.set()
            for w in workers:
                w.stop()
    load_after = os.getloadavg()
    print(f"\n{rounds} rounds; load average before {fmt_load(load_before)}, after {fmt_load(load_after)}")
    print(f"{'seconds after the command returned':<44} {'min':>6} {'median':>7} {'max':>6}")
    for kind in ("takeover", "override"):
        for column, label in ((1, "previous holder's gate closed"), (2, "previous holder's last run ended"),
                              (3, "new holder's first run started")):
            values = [r[column] for r in rows if r[0] == kind and r[column] is not None]
            if values:
                print(f"{kind + ': ' + label:<44} {min(values):6.1f} {statistics.median(values):7.1f} "
                      f"{max(values):6.1f}")


def fmt(value: float | None) -> str:
    return f"{value:6.1f} s" if value is not None else "     — "


def fmt_load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="alternately takeover and override (default 5)")
    parser.add_argument("--hold", type=float, default=15.0,
                        help="seconds each holder processes before the next round (default 15)")
    parser.add_argument("--keep", action="store_true", help="keep the HUB_HOMEs and worker logs")
    args = parser.parse_args()
    # SIGTERM as Ctrl-C: the finally blocks kill the workers and drop the databases.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    root = Path(tempfile.mkdtemp(prefix="lease-takeover-"))
    try:
        bench(args.rounds, args.hold, root)
    finally:
        if args.keep:
            print(f"HUB_HOMEs and worker logs: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(CLIENT.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
