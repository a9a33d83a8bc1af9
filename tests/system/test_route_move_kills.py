"""A route move SIGKILLed at random moments under the real worker and run again: nothing lost
or doubled; afterwards both integrations run, create nothing, and every edit arrives.
Three kills here; ``bench/route_move_soak.py`` does ten (docs/benchmarks.md)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integrations.dbtargets import fresh_postgres_db
from tests.security.ready import prepare_process_hub
from tests.system.conftest import Hub
from tests.system.route_move_kills import soak
from tests.system.test_engine_databases import Worker

pytestmark = [pytest.mark.system, pytest.mark.postgres]


@pytest.fixture
def hub(tmp_path: Path, hub_env: dict[str, str]) -> Iterator[Hub]:
    with fresh_postgres_db("hubmove") as hub_db:
        # Small batches so that a move takes several transactions and the kills land inside it.
        env = dict(hub_env, DATABASE_URL=hub_db, HUB_ENGINE_LEASE_SECONDS="5", HUB_WORKERS="2",
                   HUB_ROUTE_MOVE_BATCH="25")
        h = Hub(home=tmp_path / "home", env=env, log=tmp_path / "worker.log")
        done = h.manage("migrate", "--no-input")
        assert done.returncode == 0, done.stdout + done.stderr
        prepare_process_hub(h)
        yield h


def test_route_move_killed_three_times_loses_and_doubles_nothing(hub, tmp_path):
    with fresh_postgres_db("left") as left_url, fresh_postgres_db("right") as right_url:
        result = soak(hub, Worker(hub, tmp_path / "worker.log"), left_url, right_url, pairs=1500, kills=3)
    assert len(result["outcomes"]) == 3
