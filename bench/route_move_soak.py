"""Route move soak under the real worker: ten SIGKILLs during a move, then the proof run.

    .venv/bin/python bench/route_move_soak.py [--kills 10] [--pairs 3000] [--batch 25]

A hub on a fresh PostgreSQL database, one ``qcluster`` (2 workers), two PostgreSQL tables with
``--pairs`` artifacts kept in step, their pairs imported into integration "source" and
established by a run. The move of the route to "target" is started as a background job; the
cluster is SIGKILLed a random 0.2–6 s after it reports running, and the same move started again,
``--kills`` times; then it finishes. After every kill: every pair in exactly one integration.
At the end, edits on both sides arrive and no artifact is created (tests/system/route_move_kills.py;
the suite runs three kills: tests/system/test_route_move_kills.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from engine_kill_soak import make_hub  # noqa: E402 — sets up Django for the client side

from tests.integrations.dbtargets import fresh_postgres_db  # noqa: E402
from tests.system.engine_procs import Worker  # noqa: E402
from tests.system.route_move_kills import soak  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=25)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="move-soak-"))
    started = time.monotonic()
    with fresh_postgres_db("movesoakhub") as hub_db, fresh_postgres_db("left") as left_url, \
            fresh_postgres_db("right") as right_url:
        hub = make_hub(tmp, hub_db)
        hub.env.update({"HUB_ENGINE_LEASE_SECONDS": "5", "HUB_ROUTE_MOVE_BATCH": str(args.batch)})
        result = soak(hub, Worker(hub, tmp / "worker.log"), left_url, right_url, pairs=args.pairs,
                      kills=args.kills, report=print)
    mid = sum(1 for line in result["outcomes"] if "mid-move" in line)
    print(f"{args.kills} kills ({mid} mid-move), {args.pairs} pairs: none lost or doubled after any kill; "
          f"after the move every edit arrived and no artifact was created. {time.monotonic() - started:.0f} s.")


if __name__ == "__main__":
    main()
