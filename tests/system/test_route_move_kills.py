"""A route move SIGKILLed at random moments under the real worker and run again: nothing lost
or doubled; afterwards both integrations run, create nothing, and every edit arrives.
Three kills here; ``bench/route_move_soak.py`` does ten (docs/benchmarks.md)."""

from __future__ import annotations

import pytest

from tests.integrations.dbtargets import fresh_postgres_db
from tests.system.engine_procs import Worker
from tests.system.route_move_kills import soak

pytestmark = [pytest.mark.system, pytest.mark.postgres]


def test_route_move_killed_three_times_loses_and_doubles_nothing(engine_hub, tmp_path):
    # Small batches so that the move takes many transactions and the kills land inside it.
    engine_hub.env["HUB_ROUTE_MOVE_BATCH"] = "5"
    with fresh_postgres_db("left") as left_url, fresh_postgres_db("right") as right_url:
        result = soak(engine_hub, Worker(engine_hub, tmp_path / "worker.log"), left_url, right_url,
                      pairs=1500, kills=3)
    assert len(result["outcomes"]) == 3
