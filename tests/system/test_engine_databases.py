"""The engine under the real django-q2 worker (a ``qcluster`` subprocess on a temp HUB_HOME,
the hub's own database a fresh PostgreSQL database): two-way sync between ``database`` tables
on PostgreSQL and MariaDB, and SIGKILL of the worker at random moments during a 1,000-artifact
two-way sync."""

from __future__ import annotations

import random
import time

import pytest

from tests.system.engine_procs import Worker, configure, in_step, pairs, table, two_tables, wait

pytestmark = [pytest.mark.system, pytest.mark.postgres]


@pytest.mark.mariadb
def test_two_way_postgresql_and_mariadb_under_the_real_worker(engine_hub, tmp_path):
    hub = engine_hub
    with two_tables("mariadb") as (left_url, right_url, left, right):
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


def test_sigkill_during_a_thousand_artifact_two_way_sync(engine_hub, tmp_path):
    hub = engine_hub
    rnd = random.Random()
    with two_tables() as (left_url, right_url, left, right):
        for n in range(500):
            left.create("ALPHA", {"summary": f"L{n}", "status": "New"}, hub_key="")
            right.create("ALPHA", {"summary": f"R{n}", "status": "Open"}, hub_key="")
        configure(hub, left_url, right_url)
        worker = Worker(hub, tmp_path / "worker.log")
        last_left, last_right, committed = {}, {}, []
        try:
            for round_no in range(10):
                worker.start_and_wait_running()
                time.sleep(rnd.uniform(1.0, 9.0))  # then killed at a random point
                worker.kill9()
                committed.append(len(pairs(hub)))  # pairs committed by the end of each round
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
            # Progress under repeated kills (bench/engine_kill_soak.py reports the figures of 50).
            assert committed[-1] > 0, committed
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
