"""Two real installations (separate HUB_HOMEs, their own workers) on one PostgreSQL database,
with work flowing: a new installation takes the instance lease and the previous one stops
processing; an override takes it back and the other stops. Each installation has its own
django-q2 queue (tasktop_hub/queue.py) and the schedules follow the lease (storage/lease.py), so
each processes while it holds the lease, and their runs never overlap."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from tests.integrations.dbtargets import fresh_postgres_db
from tests.ready import SYSTEM_MASTER_PASSWORD, prepare_process_hub
from tests.system.conftest import Hub
from tests.system.engine_procs import FIELDS, Worker, configure, pairs, wait

pytestmark = [pytest.mark.system, pytest.mark.postgres]


def lease_state(hub: Hub) -> dict:
    done = hub.manage("storage", "status", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout[done.stdout.index("{"):])["instance_lease"]


GRACE = timedelta(seconds=10)
RUN_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \w+ \d+ [\w.]+: Run of integration (\d+) "
                      r"(started|ended) \(lease ([^)]*)\)")


def runs(log: Path) -> list[tuple[datetime, datetime]]:
    """The (start, end) of every integration run one installation's worker logged; one still going
    ends now."""
    started: dict[str, datetime] = {}
    out = []
    for line in log.read_text().splitlines() if log.exists() else []:
        match = RUN_LINE.match(line)
        if not match:
            continue
        at = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
        if match.group(3) == "started":
            started[match.group(4)] = at
        elif match.group(4) in started:
            out.append((started.pop(match.group(4)), at))
    return out + [(at, datetime.max) for at in started.values()]


def test_takeover_and_override_between_two_installations(tmp_path: Path, hub_env: dict[str, str],
                                                         postgres_hub_template: str):
    # The hub database: a copy of the session's migrated one (tests/system/hub_template.py).
    with fresh_postgres_db("hublease", template=postgres_hub_template) as hub_db, fresh_postgres_db("left") as left_url, \
            fresh_postgres_db("right") as right_url:
        common = dict(hub_env, DATABASE_URL=hub_db, HUB_INSTANCE_LEASE_CHECK_SECONDS="1", HUB_WORKERS="2",
                      HUB_ENGINE_LEASE_SECONDS="5")
        a = Hub(home=tmp_path / "a", env=dict(common, HUB_HOME=str(tmp_path / "a")), log=tmp_path / "a.log")
        b = Hub(home=tmp_path / "b", env=dict(common, HUB_HOME=str(tmp_path / "b")), log=tmp_path / "b.log")
        prepare_process_hub(a)
        b.env["HUB_LICENSE_TRUSTED_KEYS"] = a.env["HUB_LICENSE_TRUSTED_KEYS"]
        b.env["HUB_MASTER_PASSWORD"] = SYSTEM_MASTER_PASSWORD  # the vault (in the shared database) needs it
        for url in (left_url, right_url):
            create_work_item_table(url, "items", FIELDS)
        left = DatabaseConnector(left_url, {"table": "items"}, {})
        configure(a, left_url, right_url)
        worker_a, worker_b = Worker(a, a.log), Worker(b, b.log)
        try:
            worker_a.start()
            for n in range(5):
                left.create("ALPHA", {"summary": f"first {n}", "status": "New"}, hub_key="")
            wait(lambda: len(pairs(a)) == 5, 150, "installation A syncs", a.log)
            assert lease_state(a)["held_by_this_installation"]

            # B starts on the same database: it takes the lease; A stops processing. Both workers
            # keep running with work flowing: only B may process it.
            worker_b.start()
            wait(lambda: lease_state(b)["held_by_this_installation"], 60, "B takes the lease", b.log)
            b_holds = datetime.now()
            assert "took this database's instance lease" in lease_state(a)["lost_reason"]
            for n in range(3):
                left.create("ALPHA", {"summary": f"while B holds {n}", "status": "New"}, hub_key="")
            wait(lambda: len(pairs(a)) == 8, 150, "B processes the new rows", b.log)
            assert runs(b.log), "B never ran the integration"

            # A overrides (after the seed's warning), with B still running: A processes again and
            # B, having lost the lease, does not.
            refused = a.manage("storage", "override")
            assert refused.returncode != 0 and "--yes" in refused.stderr
            a_overrides = datetime.now()
            done = a.manage("storage", "override", "--yes")
            assert done.returncode == 0, done.stdout + done.stderr
            a_holds = datetime.now()
            state_b = lease_state(b)
            assert not state_b["held_by_this_installation"] and "took this database" in state_b["lost_reason"]
            left.create("ALPHA", {"summary": "after override", "status": "New"}, hub_key="")
            wait(lambda: len(pairs(a)) == 9, 150, "A processes again after the override, B running", a.log)
            assert lease_state(a)["held_by_this_installation"]
            # B restarting does not take the lease back (only an override would).
            worker_b.stop()
            worker_b.start()
            left.create("ALPHA", {"summary": "after B restarted", "status": "New"}, hub_key="")
            wait(lambda: len(pairs(a)) == 10, 150, "A keeps processing with B restarted", a.log)
            assert lease_state(a)["held_by_this_installation"]

            # Never at the same time. The engine's run lease alone keeps two runs of one integration
            # apart, so what shows the instance lease is who starts runs: the installation without it
            # starts none. GRACE covers a check made just before the lease changed hands (each
            # process re-reads the lease at most every HUB_INSTANCE_LEASE_CHECK_SECONDS=1) and a
            # loaded machine's delay between that check and the run's first log line.
            runs_a, runs_b = runs(a.log), runs(b.log)
            assert not [r for r in runs_a if b_holds + GRACE < r[0] < a_overrides], (b_holds, a_overrides, runs_a)
            assert not [r for r in runs_b if a_holds + GRACE < r[0]], (a_holds, runs_b)
            assert [r for r in runs_a if r[0] > a_holds], "A never ran after the override"
            overlaps = [(ra, rb) for ra in runs_a for rb in runs_b if ra[0] < rb[1] and rb[0] < ra[1]]
            assert not overlaps, overlaps
            # Neither cluster took the other's tasks (each signs with its own SECRET_KEY).
            assert "BadSignature" not in a.log.read_text() + b.log.read_text()
        finally:
            worker_a.stop()
            worker_b.stop()
            left.close()
