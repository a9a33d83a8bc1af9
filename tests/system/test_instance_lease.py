"""Two real installations (separate HUB_HOMEs, their own workers) on one PostgreSQL database,
with work flowing: a new installation takes the instance lease and the previous one stops
processing; an override takes it back and the other stops."""

from __future__ import annotations

import json
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

            # B starts on the same database: it takes the lease; A stops processing.
            worker_b.start()
            wait(lambda: lease_state(b)["held_by_this_installation"], 60, "B takes the lease", b.log)
            assert "took this database's instance lease" in lease_state(a)["lost_reason"]
            worker_b.stop()
            for n in range(3):
                left.create("ALPHA", {"summary": f"while B holds {n}", "status": "New"}, hub_key="")
            # A's worker is still running, but without the lease it processes nothing: the
            # new rows stay unpaired until A overrides.
            wait(lambda: "Nothing is processed" in a.log.read_text() or "instance lease" in a.log.read_text()
                 or len(pairs(a)) == 5, 30, "A notices", a.log)
            assert len(pairs(a)) == 5

            # A overrides (after the seed's warning); it processes again and B has lost the lease.
            refused = a.manage("storage", "override")
            assert refused.returncode != 0 and "--yes" in refused.stderr
            done = a.manage("storage", "override", "--yes")
            assert done.returncode == 0, done.stdout + done.stderr
            wait(lambda: len(pairs(a)) == 8, 150, "A processes again after the override", a.log)
            state_b = lease_state(b)
            assert not state_b["held_by_this_installation"] and "took this database" in state_b["lost_reason"]
            # B restarting does not take the lease back (only an override would).
            worker_b.start()
            left.create("ALPHA", {"summary": "after override", "status": "New"}, hub_key="")
            wait(lambda: len(pairs(a)) == 9, 150, "A keeps processing with B running", a.log)
            assert lease_state(a)["held_by_this_installation"]
        finally:
            worker_a.stop()
            worker_b.stop()
            left.close()
