"""Engine benchmark: throughput vs the latency bound, CPU per artifact, idle change
detection, full scan of 100,000 pairs, and the spread of intervals between runs.

    .venv/bin/python bench/engine_bench.py            # prints the figures (≈ 4 minutes)

The tools are two ``database`` connectors on SQLite files, wrapped to add a fixed latency to
every remote call (connector method) and to count calls. The hub's own database is SQLite in
a temporary HUB_HOME (the embedded default). The processing gate (license, master password)
is opened in-process: this measures the engine, not the setup.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

from _hub import bootstrap

BENCH = bootstrap("engine-bench")

from django.core.management import call_command  # noqa: E402
from django.db import connection as hub_db  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from integrations.connectors.database import DatabaseConnector  # noqa: E402
from integrations.connectors.database.schema import create_work_item_table  # noqa: E402
from integrations.engine import context, detection, dispatch, jobs, runner  # noqa: E402
from integrations.engine.models import ChangeCursor, PendingWork, SyncState  # noqa: E402
from integrations.models import ArtifactPair, Collection, Integration, RepositoryConnection, Route  # noqa: E402
from settings_app.services import update_settings  # noqa: E402

FIELDS = ["summary", "status", "assignee", "priority"]
REMOTE = {"changes", "changes_after", "read", "create", "find_by_hub_key", "update", "people", "transition"}


class Latency:
    """Adds ``latency`` seconds to every remote call and counts calls and the CPU time the
    (in-process SQLite) tool itself spends, so it can be told apart from the hub's."""

    def __init__(self, inner: DatabaseConnector, latency: float) -> None:
        self._inner, self.latency = inner, latency
        self.calls = 0
        self.tool_cpu = 0.0
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        attr = getattr(self._inner, name)
        if name not in REMOTE:
            return attr

        def call(*args, **kwargs):
            if self.latency:
                time.sleep(self.latency)
            t0 = time.thread_time()
            try:
                return attr(*args, **kwargs)
            finally:
                with self._lock:
                    self.calls += 1
                    self.tool_cpu += time.thread_time() - t0

        return call


PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
_CREATED: list[str] = []


def _pg_admin():
    from urllib.parse import urlsplit

    import psycopg

    p = urlsplit(PG_ADMIN)
    return psycopg.connect(host=p.hostname, port=p.port or 5432, user=p.username or "postgres",
                           dbname=p.path.lstrip("/") or "postgres", autocommit=True, connect_timeout=3)


def tool_url(name: str) -> str:
    """A fresh PostgreSQL database for one tool table when the server is there (a concurrent
    writer, like a real tracker); a SQLite file otherwise (writers serialise on its lock)."""
    if TOOL_KIND == "postgresql":
        db = f"bench_{name}_{os.getpid()}"
        with _pg_admin() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db}"')
            admin.execute(f'CREATE DATABASE "{db}"')
            # The stand-in tools should cost only the injected latency, not an fsync per write.
            admin.execute(f'ALTER DATABASE "{db}" SET synchronous_commit = off')
        _CREATED.append(db)
        return PG_ADMIN.rsplit("/", 1)[0] + "/" + db
    path = BENCH.tools / f"{name}.db"
    path.touch()
    return f"sqlite:///{path}"


def drop_tool_databases() -> None:
    if _CREATED:
        with _pg_admin() as admin:
            for db in _CREATED:
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def _tools() -> str:
    try:
        _pg_admin().close()
        return "postgresql"
    except Exception:  # noqa: BLE001
        return "sqlite"


TOOL_KIND = _tools()  # a name of its own: BENCH.tools is the SQLite files' directory


class Rig:
    def __init__(self, name: str) -> None:
        self.urls = []
        for side in ("left", "right"):
            url = tool_url(f"{name}_{side}")
            create_work_item_table(url, "items", FIELDS, drop=True)
            self.urls.append(url)
        self.options = {"table": "items", "projects": "ALPHA"}
        cols = []
        for side, url in zip(("left", "right"), self.urls, strict=True):
            conn = RepositoryConnection.objects.create(name=f"{name}-{side}", kind="database", url=url, options=self.options)
            cols.append(Collection.objects.create(name=f"{name}-{side}", connection=conn,
                                                  projects=["ALPHA"], field_mapping={f: f for f in FIELDS}))
        self.integration = Integration.objects.create(name=name, left_collection=cols[0], right_collection=cols[1],
                                                      run_state="running")
        Route.objects.create(integration=self.integration, left_project="ALPHA", right_project="ALPHA")
        self.left = DatabaseConnector(self.urls[0], self.options, {})
        self.right = DatabaseConnector(self.urls[1], self.options, {})
        self.latency = 0.0
        self.wrappers: list[Latency] = []

    def factory(self, connection: RepositoryConnection) -> Latency:
        w = Latency(DatabaseConnector(connection.url, connection.options, {}), self.latency)
        self.wrappers.append(w)
        return w

    def run(self) -> dict:
        SyncState.objects.filter(integration=self.integration).update(lease_owner="", lease_expires=None)
        return runner.run_integration(self.integration.pk, factory=self.factory, budget=3600)

    def calls(self) -> int:
        return sum(w.calls for w in self.wrappers)

    def bulk_rows(self, connector: DatabaseConnector, stamps: list[datetime]) -> None:
        conn = connector._conn()
        cur = conn.cursor()
        ph = connector.dialect.placeholder
        cur.execute("BEGIN")
        cur.executemany(f"INSERT INTO items (project, updated_at, hub_key, summary, status) "
                        f"VALUES ({ph}, {ph}, {ph}, {ph}, {ph})",
                        [("ALPHA", connector.dialect.to_db_time(ts), "", f"item {i}", "New")
                         for i, ts in enumerate(stamps)])
        cur.execute("COMMIT")


def setup_hub() -> None:
    call_command("migrate", verbosity=0)
    runner.processing_blocked_reason = lambda: None  # bench only: no license / master password here
    dispatch.processing_blocked_reason = lambda: None
    runner.cached_live_problems = lambda integration: []  # the live checks read secrets (vault)


def throughput() -> list[tuple]:
    print("\n(a) throughput: 2,000 changed artifacts, 20 ms per remote call")
    rig = Rig("throughput")
    for i in range(2000):
        rig.left.create("ALPHA", {"summary": f"s{i}", "status": "New"}, hub_key="")
    rig.run()  # initial sync at zero latency: 2,000 pairs
    assert ArtifactPair.objects.filter(integration=rig.integration).count() == 2000
    rows = []
    lids = list(ArtifactPair.objects.filter(integration=rig.integration).values_list("left_id", flat=True))
    for n, concurrency in enumerate((1, 5, 10, 20)):
        update_settings(None, max_concurrency=concurrency)
        for i in lids:
            rig.left.update(i, {"status": f"round {n}"})
        rig.latency, rig.wrappers = 0.020, []
        t0 = time.perf_counter()
        result = rig.run()
        wall = time.perf_counter() - t0
        assert result.get("writes") == 2000, result
        per_artifact = rig.calls() / 2000
        bound = concurrency / (per_artifact * 0.020)
        rate = 2000 / wall
        floor = _floor(rig, lids, concurrency)
        rig.latency = 0.0
        rig.run()  # absorb the floor's writes before the next round
        rows.append((concurrency, wall, rate, per_artifact, bound, rate / bound))
        print(f"  concurrency {concurrency:>2}: {wall:6.2f} s, {rate:6.1f} artifacts/s, "
              f"{per_artifact:.3f} remote calls/artifact, bound {bound:6.1f}/s, ratio {rate / bound:.2f} "
              f"(a bare pool of {concurrency} threads making the same {2000} writes, no hub: "
              f"{2000 / floor:6.1f}/s, ratio {2000 / floor / bound:.2f})")
    return rows


def _floor(rig: Rig, ids: list[str], concurrency: int) -> float:
    """What the machine itself allows: the same writes from a bare thread pool."""
    from concurrent.futures import ThreadPoolExecutor

    c = Latency(DatabaseConnector(rig.urls[1], rig.options, {}), 0.020)
    rids = list(ArtifactPair.objects.filter(integration=rig.integration).values_list("right_id", flat=True))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda i: c._inner.update(i, {"priority": "floor"}) if not time.sleep(0.020) else None, rids))
    wall = time.perf_counter() - t0
    c._inner.close()
    return wall


def cpu_per_artifact() -> tuple[float, float]:
    print("\n(b) hub CPU per synced artifact, zero latency (2,000 changed, concurrency 10)")
    rig = Rig("cpu")
    for i in range(2000):
        rig.left.create("ALPHA", {"summary": f"s{i}", "status": "New"}, hub_key="")
    rig.run()
    update_settings(None, max_concurrency=10)
    for i in ArtifactPair.objects.filter(integration=rig.integration).values_list("left_id", flat=True):
        rig.left.update(i, {"status": "changed"})
    rig.latency, rig.wrappers = 0.0, []
    c0 = time.process_time()
    result = rig.run()
    cpu = time.process_time() - c0
    assert result.get("writes") == 2000, result
    tool = sum(w.tool_cpu for w in rig.wrappers)
    print(f"  process CPU {cpu * 1000 / 2000:.2f} ms/artifact, of which inside the tool calls (database "
          f"driver{', and SQLite itself' if TOOL_KIND == 'sqlite' else ''}) {tool * 1000 / 2000:.2f} ms; "
          f"hub's own {(cpu - tool) * 1000 / 2000:.2f} ms/artifact")
    return cpu * 1000 / 2000, (cpu - tool) * 1000 / 2000


def big_rig(name: str, pairs: int) -> Rig:
    """``pairs`` already-synchronized pairs, last changed an hour ago, cursors caught up."""
    rig = Rig(name)
    # One change every 100 ms, the last an hour ago.
    last = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    stamps = [last - timedelta(milliseconds=100 * (pairs - 1 - i)) for i in range(pairs)]
    for c in (rig.left, rig.right):
        rig.bulk_rows(c, stamps)
    route = rig.integration.routes.get()
    base = {"left": {"summary": None}, "right": {"summary": None}}
    batch = []
    for i in range(1, pairs + 1):
        version = stamps[i - 1].isoformat()
        batch.append(ArtifactPair(integration=rig.integration, route=route, left_id=str(i), right_id=str(i),
                                  base=base, left_version=version, right_version=version))
        if len(batch) == 5000:
            ArtifactPair.objects.bulk_create(batch)
            batch = []
    ArtifactPair.objects.bulk_create(batch)
    for side in ("left", "right"):
        ChangeCursor.objects.create(integration=rig.integration, side=side, project="ALPHA", last_ts=last, seen={})
    SyncState.objects.get_or_create(integration=rig.integration)
    return rig


def idle_detection(rigs: dict[int, Rig]) -> dict[int, tuple]:
    print("\n(c) idle change detection (nothing changed)")
    out = {}
    for pairs, rig in rigs.items():
        ctx = context.load(rig.integration, rig.factory)
        rig.wrappers = [ctx.sides["left"].connector, ctx.sides["right"].connector]
        detection.detect(ctx)  # warm
        before = rig.calls()
        runs = 50
        with CaptureQueriesContext(hub_db) as queries:
            t0 = time.perf_counter()
            for _ in range(runs):
                assert detection.detect(ctx) == 0
            wall = (time.perf_counter() - t0) / runs
        calls = (rig.calls() - before) / runs
        out[pairs] = (wall * 1000, calls, len(queries) / runs)
        ctx.close()
        print(f"  {pairs:>7,} pairs: {wall * 1000:.2f} ms per run, {calls:.0f} remote calls, "
              f"{len(queries) / runs:.0f} hub queries")
    return out


def full_scan(rig: Rig, pairs: int) -> tuple:
    print(f"\n(d) full scan of {pairs:,} pairs")
    ctx = context.load(rig.integration, rig.factory)
    rig.wrappers = [ctx.sides["left"].connector, ctx.sides["right"].connector]
    t0 = time.perf_counter()
    result = jobs.full_scan(ctx)
    wall = time.perf_counter() - t0
    ctx.close()
    page = ctx.sides["left"].connector.page_size
    print(f"  {wall:.1f} s, {rig.calls()} remote calls ({result['read_calls']} reads; page size {page}: "
          f"⌈pairs ÷ page size⌉ = {-(-pairs // page)} per side), {result['changed']} changed")
    PendingWork.objects.filter(integration=rig.integration).delete()
    return wall, rig.calls(), page


def interval_spread(interval: int = 10, seconds: float = 75.0) -> list[float]:
    print(f"\nobserved intervals between runs (configured {interval} s; real dispatcher loop, "
          "a worker thread polling its queue every 0.5 s like django-q2's ORM broker)")
    Integration.objects.update(run_state="stopped")  # only this one is dispatched
    rig = Rig("intervals")
    rig.integration.change_detection_interval = interval
    rig.integration.save()
    rig.left.create("ALPHA", {"summary": "x"}, hub_key="")
    queue: list[int] = []
    starts: list[float] = []
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set():
            while queue:
                queue.pop(0)
                runner.run_integration(rig.integration.pk, factory=rig.factory)
                started = SyncState.objects.get(integration=rig.integration).last_run_started.timestamp()
                if not starts or started != starts[-1]:
                    starts.append(started)
            time.sleep(0.5)
        hub_db.close()

    t = threading.Thread(target=worker)
    t.start()
    dispatch.dispatcher_loop(queue.append, lambda i: None, seconds=seconds)
    stop.set()
    t.join()
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    if gaps:
        print(f"  {len(gaps)} intervals: min {min(gaps):.2f} s, max {max(gaps):.2f} s, "
              f"mean {sum(gaps) / len(gaps):.2f} s (allowed: {interval} ± {max(0.1 * interval, 5):.0f} s)")
    return gaps


def main() -> None:
    print(f"engine benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"tools: two 'database' connectors on {TOOL_KIND} (+ injected latency per remote call)")
    setup_hub()
    try:
        _main()
    finally:
        drop_tool_databases()


def _main() -> None:
    throughput()
    cpu_per_artifact()
    rigs = {n: big_rig(f"pairs{n}", n) for n in (1_000, 100_000)}
    idle_detection(rigs)
    full_scan(rigs[100_000], 100_000)
    interval_spread()


if __name__ == "__main__":
    main()
