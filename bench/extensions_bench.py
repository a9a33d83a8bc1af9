"""Extension sandbox benchmark: calls per second through the pool, the overhead of one call,
and the engine's CPU per artifact with a custom data transformation on every field.

    .venv/bin/python bench/extensions_bench.py        # prints the figures (≈ 1 minute)

(a) A small transform (``v + 1``) through a pool of 2 children, from 1, 2 and 4 threads.
(b) One call's round trip from a single thread, and the share of it spent in the child
    (fresh context + prelude + the script); the rest is the pipe and the parent.
(c) 300 new artifacts created left → right by the engine (two SQLite tool tables, no latency),
    once without extensions and once with one transform on each of the 4 fields: the engine
    process's own CPU per artifact (children excluded) and the children's CPU, read from /proc.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HOME = Path(tempfile.mkdtemp(prefix="extensions-bench-"))
os.environ["HUB_HOME"] = str(HOME / "hub")
TOOLS = HOME / "tools"
TOOLS.mkdir()
os.environ["HUB_CONNECTION_SQLITE_DIRS"] = str(TOOLS)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tasktop_hub.settings")
os.environ.setdefault("HUB_LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from extensions import services as ext_services  # noqa: E402
from extensions.sandbox.pool import Pool, get_pool  # noqa: E402
from integrations.connectors.database import DatabaseConnector  # noqa: E402
from integrations.connectors.database.schema import create_work_item_table  # noqa: E402
from integrations.engine import dispatch, runner  # noqa: E402
from integrations.engine.models import PendingWork, SyncState  # noqa: E402
from integrations.models import ArtifactPair, Collection, Integration, RepositoryConnection, Route  # noqa: E402

SMALL = "function transform(v, f) { return v + 1 }"
FIELDS = ["summary", "status", "assignee", "priority"]
IDENTITY = "function transform(v, f) { return v === null ? null : String(v) }"


def calls_per_second(pool: Pool, threads: int, total: int) -> float:
    each = total // threads

    def work() -> None:
        for i in range(each):
            pool.run(SMALL, "transform", [i, {}])

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return each * threads / (time.perf_counter() - start)


def pool_figures() -> None:
    pool = Pool(2)
    pool.run(SMALL, "transform", [0, {}])
    pool.run(SMALL, "transform", [0, {}])
    for threads in (1, 2, 4):
        print(f"(a) pool of 2, {threads} thread(s): {calls_per_second(pool, threads, 2000):,.0f} calls/s")
    rounds, inside = [], []
    for i in range(500):
        start = time.perf_counter()
        r = pool.run(SMALL, "transform", [i, {}])
        rounds.append((time.perf_counter() - start) * 1000)
        inside.append(r.ms)
    rounds.sort()
    inside.sort()
    print(f"(b) one call: median {rounds[250]:.3f} ms round trip, of which {inside[250]:.3f} ms in the child "
          f"(context + prelude + script); overhead outside the child {rounds[250] - inside[250]:.3f} ms")
    pool.close()


def children_cpu() -> float:
    pool = get_pool()
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for _ in range(pool.size):
        child = pool.idle.get()
        if child is not None:
            with open(f"/proc/{child.proc.pid}/stat") as fh:
                parts = fh.read().rsplit(")", 1)[1].split()
            total += (int(parts[11]) + int(parts[12])) / tick
        pool.idle.put(child)
    return total


def engine_run(n: int, with_transforms: bool, tag: str) -> tuple[float, float]:
    urls = []
    for side in ("left", "right"):
        path = TOOLS / f"{tag}-{side}.db"
        path.touch()
        urls.append(f"sqlite:///{path}")
        create_work_item_table(urls[-1], "items", FIELDS, drop=True)
    options = {"table": "items", "projects": "ALPHA", "page_size": 500}
    colls = []
    for side, url in zip(("left", "right"), urls, strict=True):
        conn = RepositoryConnection.objects.create(name=f"{tag}-{side}", kind="database", url=url, options=options)
        # One transform on every field: the right side's "write" (applied to each value sent there).
        field_ext = {f: {"write": "identity"} for f in FIELDS} if with_transforms and side == "right" else {}
        colls.append(Collection.objects.create(name=f"{tag}-{side}-items", connection=conn, projects=["ALPHA"],
                                               field_mapping={f: f for f in FIELDS}, field_extensions=field_ext))
    integration = Integration.objects.create(name=tag, left_collection=colls[0], right_collection=colls[1],
                                             run_state="running")
    Route.objects.create(integration=integration, left_project="ALPHA", right_project="ALPHA")
    left = DatabaseConnector(urls[0], options, {})
    for i in range(n):
        left.create("ALPHA", {"summary": f"item {i}", "status": "New", "assignee": "ann", "priority": str(i % 4)},
                    hub_key="")
    children_before, start = children_cpu(), time.process_time()
    for _ in range(50):
        runner.run_integration(integration.pk)
        SyncState.objects.filter(integration=integration).update(lease_owner="", lease_expires=None)
        if not PendingWork.objects.filter(integration=integration).exists():
            break
    cpu, children = time.process_time() - start, children_cpu() - children_before
    assert ArtifactPair.objects.filter(integration=integration).count() == n, "not all artifacts synced"
    return cpu / n * 1000, children / n * 1000


def engine_figures() -> None:
    call_command("migrate", verbosity=0)
    runner.processing_blocked_reason = lambda: None  # bench only: no license / master password here
    dispatch.processing_blocked_reason = lambda: None
    ext_services.create(None, name="identity", type="transform", source=IDENTITY)
    n = 300
    engine_run(50, False, "warmup")
    plain, _ = engine_run(n, False, "plain")
    with_ext, children = engine_run(n, True, "transformed")
    print(f"(c) engine CPU per artifact: {plain:.2f} ms without extensions, {with_ext:.2f} ms with a transform on "
          f"each of {len(FIELDS)} fields ({len(FIELDS)} calls per artifact): {with_ext / plain:.2f}x; "
          f"sandbox children: {children:.2f} ms per artifact")


if __name__ == "__main__":
    if "--engine-only" not in sys.argv:
        pool_figures()
    engine_figures()
