"""The lists that grow without bound, at 100,000 or 1,000,000 rows per table: p50/p99 per page.

    .venv/bin/python bench/lists_bench.py --rows 100000 [--db sqlite|postgresql] [--repeats 100] [--only api|admin]

Fills artifact pairs, pending work, Activity errors, background jobs and the audit trail with
``--rows`` rows each (one ``INSERT … SELECT`` per table over a generated series: seconds, not
minutes), then requests each page ``--repeats`` times through the whole stack — Django's test
client, every middleware, the API's token authentication, role permission, paging and
serializers, or the admin's session — and prints p50/p99 in milliseconds, the queries per request
and the part of the time spent in SQL. Each page's first request is timed apart ("first": what a
worker's first visit costs — templates compiled, caches filled — and the garbage collections
those new long-lived objects set off), and the full (generation 2) garbage collections that fell
within the timed requests are counted with the longest one. Pages: the first, a deep one (a cursor near the end, from
the page's own ``next`` link format), filtered ones, and the admin changelists (page 1, the last
page under the count cap, filtered). ``--db postgresql`` runs on a fresh database on
127.0.0.1:5432 (``BENCH_POSTGRES_URL``), dropped afterwards; the default is SQLite in a temporary
``HUB_HOME`` (the embedded database).

``--keep PLACE`` keeps the filled database and reuses it on the next run with the same ``--rows``
(filling 1,000,000 rows per table takes minutes): PLACE is a directory used as ``HUB_HOME`` on
SQLite, a database name on PostgreSQL. Handy for profiling a page again and again::

    .venv/bin/python bench/lists_bench.py --rows 1000000 --keep /tmp/lists-1m --only admin
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import math
import os
import statistics
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from _hub import bootstrap

parser = argparse.ArgumentParser()
parser.add_argument("--rows", type=int, default=100_000)
parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
parser.add_argument("--repeats", type=int, default=100)
parser.add_argument("--only", choices=["api", "admin"], default=None)
parser.add_argument("--keep", metavar="PLACE", default=None,
                    help="keep the filled database and reuse it when it holds --rows rows (SQLite: a HUB_HOME "
                         "directory; PostgreSQL: a database name)")
parser.add_argument("--page", action="append", default=[],
                    help="only the pages whose label contains this text (repeatable)")
parser.add_argument("--profile", type=int, metavar="N", default=0,
                    help="after each page's figures, profile it (cProfile, 10 requests) and print its N costliest "
                         "functions by own time and by cumulative time")
ARGS = parser.parse_args()

PG_ADMIN = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_NAME = ARGS.keep if ARGS.keep and ARGS.db == "postgresql" else f"lists_bench_{uuid.uuid4().hex[:8]}"


def _pg_admin() -> Any:
    import psycopg

    p = urlsplit(PG_ADMIN)
    return psycopg.connect(host=p.hostname, port=p.port or 5432, user=p.username or "postgres",
                           dbname=p.path.lstrip("/") or "postgres", autocommit=True, connect_timeout=3)


HUB_ENV = {"ALLOWED_HOSTS": "testserver"}  # Django's test client
if ARGS.db == "postgresql":
    with _pg_admin() as pg:
        if not (ARGS.keep and pg.execute("SELECT 1 FROM pg_database WHERE datname = %s", [PG_NAME]).fetchone()):
            pg.execute(f'CREATE DATABASE "{PG_NAME}"')
    p = urlsplit(PG_ADMIN)
    HUB_ENV["DATABASE_URL"] = f"postgres://{p.username or 'postgres'}@{p.hostname}:{p.port or 5432}/{PG_NAME}"
BENCH = bootstrap("lists-bench", Path(ARGS.keep) if ARGS.keep and ARGS.db == "sqlite" else None, **HUB_ENV)

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from integrations.models import ArtifactPair, Collection, Integration, PendingWork, RepositoryConnection, Route  # noqa: E402
from licensing.models import License  # noqa: E402
from notifications.models import ActivityError, AuditEvent, BackgroundJob  # noqa: E402
from tasktop_hub import setup_gate  # noqa: E402
from tasktop_hub.admin_paging import COUNT_CAP  # noqa: E402
from tests import ready  # noqa: E402


def _series(n: int) -> tuple[str, str]:
    """A row source of k = 0 … n-1 and the SQL of 'base time + k seconds' in Django's storage format."""
    if connection.vendor == "postgresql":
        return (f"generate_series(0, {n - 1}) AS s(k)",
                "(timestamptz '2026-01-01 00:00:00+00' + k * interval '1 second')")
    return (f"(WITH RECURSIVE s(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM s WHERE k < {n - 1}) SELECT k FROM s)",
            "(strftime('%Y-%m-%d %H:%M:%S', '2026-01-01', '+' || k || ' seconds') || '.000000')")


def populate(n: int) -> dict[str, int]:
    conns = [RepositoryConnection.objects.create(name=f"{s}-conn", kind="jira", url="http://tracker.example",
                                                 options={}) for s in ("left", "right")]
    colls = [Collection.objects.create(name=f"{c.name}-items", connection=c, projects=["ALPHA"],
                                       field_mapping={"summary": "summary"}) for c in conns]
    integrations = [Integration.objects.create(name=f"bench-{k}", left_collection=colls[0], right_collection=colls[1])
                    for k in range(2)]
    routes = [Route.objects.create(integration=i, left_project="ALPHA", right_project="ALPHA") for i in integrations]
    source, at = _series(n)
    false = "false" if connection.vendor == "postgresql" else "0"
    # Integration/route A holds 90 % of the rows, B 10 % (a filter that keeps few rows is the hard case).
    # Statuses cycle by 19 and 49, independently of the integration (k % 10): every combination of
    # filters matches rows (a combination that matches none can make PostgreSQL's planner, which
    # takes the two columns as independent, walk the single-filter index instead: docs/benchmarks.md).
    integ = f"(CASE WHEN k % 10 = 0 THEN {integrations[1].pk} ELSE {integrations[0].pk} END)"
    route = f"(CASE WHEN k % 10 = 0 THEN {routes[1].pk} ELSE {routes[0].pk} END)"
    statements = [
        f"INSERT INTO {ArtifactPair._meta.db_table} (integration_id, route_id, left_id, right_id, base, left_version,"
        f" right_version, establish_base, created_at, updated_at) SELECT {integ}, {route}, 'L' || k, 'R' || k,"
        f" '{{}}', '', '', {false}, {at}, {at} FROM {source}",
        f"INSERT INTO {PendingWork._meta.db_table} (integration_id, side, artifact_id, project, status, detected_at,"
        f" attempts, last_error) SELECT {integ}, 'left', 'A' || k, 'ALPHA',"
        f" (CASE WHEN k % 19 = 0 THEN 'blocked' ELSE 'ready' END), {at}, 0, '' FROM {source}",
        f"INSERT INTO {ActivityError._meta.db_table} (integration_id, integration_name, artifact, category, message,"
        f" status, occurrences, first_seen, last_seen) SELECT {integ}, 'bench', 'jira:' || k, 'processing',"
        f" 'The tool refused the update (HTTP 400): field summary is too long',"
        f" (CASE WHEN k % 19 = 0 THEN 'open' WHEN k % 19 = 1 THEN 'ignored' ELSE 'resolved' END), 1, {at}, {at}"
        f" FROM {source}",
        f"INSERT INTO {BackgroundJob._meta.db_table} (kind, title, params, status, progress_done, progress_total, log,"
        f" error, task_id, created_at, cancel_requested) SELECT"
        f" (CASE WHEN k % 10 = 0 THEN 'engine.full_scan' ELSE 'purge_activity' END), 'Bench job', '{{}}',"
        f" (CASE WHEN k % 49 = 0 THEN 'failed' ELSE 'succeeded' END), 100, 100, 'done', '', '', {at}, {false}"
        f" FROM {source}",
        f"INSERT INTO {AuditEvent._meta.db_table} (at, action, target, details) SELECT {at},"
        f" (CASE WHEN k % 10 = 0 THEN 'integration.update' ELSE 'job.enqueue' END), 'job:' || k, '{{}}'"
        f" FROM {source}",
    ]
    with connection.cursor() as cursor:
        for sql in statements:
            started = time.perf_counter()
            cursor.execute(sql)
            print(f"  inserted {n:,} rows into {sql.split()[2]} in {time.perf_counter() - started:.1f} s", flush=True)
        if connection.vendor == "postgresql":
            # What autovacuum does to a table after a million inserts: statistics, and the visibility
            # map that lets an index-only scan (the admin's capped count, an OFFSET) skip the heap.
            cursor.execute("VACUUM ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return {"a": integrations[0].pk, "b": integrations[1].pk, "route_b": routes[1].pk}


def kept_fill(n: int) -> dict[str, int] | None:
    """The ids of a kept database filled with ``n`` rows per table by an earlier run; None if there is none."""
    integrations = {i.name: i for i in Integration.objects.filter(name__in=["bench-0", "bench-1"])}
    if len(integrations) < 2:
        return None
    pairs = ArtifactPair.objects.filter(integration__in=integrations.values())  # the (integration, left_id) index
    if not pairs.filter(left_id=f"L{n - 1}").exists() or pairs.filter(left_id=f"L{n}").exists():
        return None
    b = integrations["bench-1"]
    return {"a": integrations["bench-0"].pk, "b": b.pk, "route_b": Route.objects.get(integration=b).pk}


def cursor_at(model: Any, ordering: tuple[str, ...], depth: int, **filters: Any) -> str:
    """The cursor a client following 'next' would hold after ``depth`` rows (built once, untimed)."""
    row = model.objects.filter(**filters).order_by(*ordering).values(*[o.lstrip("-") for o in ordering])[depth]
    values = [v.isoformat() if hasattr(v, "isoformat") else v for v in row.values()]
    return base64.urlsafe_b64encode(json.dumps({"p": values, "b": False}).encode()).decode().rstrip("=")


class FullCollections:
    """Python's full (generation 2) garbage collections while timing, and the longest of them."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._started) * 1000)

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def __str__(self) -> str:
        return f"{len(self.pauses)} ({max(self.pauses):.0f})" if self.pauses else "0"


def measure(client: Client, url: str, repeats: int, **headers: str
            ) -> tuple[float, float, float, int, float, float, FullCollections]:
    """The first request alone (what a worker's first visit to a page costs: templates compiled,
    caches filled), then ``repeats`` more: p50, p99, queries, SQL and CPU of those."""
    started = time.perf_counter()
    assert client.get(url, **headers).status_code == 200, url
    first = (time.perf_counter() - started) * 1000
    sql_ms: list[float] = []

    def timed(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_ms[-1] += (time.perf_counter() - started) * 1000

    times, cpu = [], []
    with connection.execute_wrapper(timed), FullCollections() as collections:
        for _ in range(repeats):
            sql_ms.append(0.0)
            t0, c0 = time.perf_counter(), time.thread_time()
            response = client.get(url, **headers)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
            assert response.status_code == 200, (url, response.status_code, response.content[:300])
    with CaptureQueriesContext(connection) as queries:
        client.get(url, **headers)
    times.sort()
    nearest_rank = math.ceil(0.99 * len(times)) - 1  # p99: of 100 requests, the second slowest
    return (first, statistics.median(times), times[nearest_rank], len(queries),
            statistics.median(sql_ms), statistics.median(cpu), collections)


def profile(client: Client, url: str, top: int, **headers: str) -> None:
    """Where a page's CPU goes: cProfile over 10 requests, the ``top`` functions twice (own, cumulative)."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        client.get(url, **headers)
    profiler.disable()
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(top)
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:20_000], flush=True)


def main() -> None:
    n = ARGS.rows
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    with override_settings(HUB_VAULT_SCRYPT_N=ready.TEST_SCRYPT_N, HUB_LICENSE_TRUSTED_KEYS=ready.trusted_keys_setting()):
        ready.make_vault_ready()
        License.objects.all().delete()  # a kept database's: signed by another run's test issuer
        ready.make_license_ready()
        setup_gate.reset_cache()
        kept = kept_fill(n) if ARGS.keep else None
        if kept is None:
            print(f"filling {n:,} rows per table on {connection.vendor} …", flush=True)
            ids = populate(n)
            admin = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench password 1")
        else:
            print(f"reusing the kept database ({n:,} rows per table on {connection.vendor})", flush=True)
            ids = kept
            admin = get_user_model().objects.get(username="bench")
        token = Token.objects.get_or_create(user=admin)[0].key
        api = Client()
        web = Client()
        web.force_login(admin)
        a, b = ids["a"], ids["b"]
        deep = n - 150
        api_pages = [
            ("pairs, first page", "/api/v1/pairs/"),
            ("pairs, first page, limit 1 (the fixed cost of a request)", "/api/v1/pairs/?limit=1"),
            ("pairs, deep page (cursor)", f"/api/v1/pairs/?cursor={cursor_at(ArtifactPair, ('id',), deep)}"),
            ("pairs, integration B (10 %)", f"/api/v1/pairs/?integration={b}"),
            ("pairs, integration B, deep", f"/api/v1/pairs/?integration={b}&cursor="
                                           f"{cursor_at(ArtifactPair, ('id',), max(n // 10 - 150, 0), integration_id=b)}"),
            ("pairs, one by left id", f"/api/v1/pairs/?integration={a}&left_id=L4242"),
            ("pending work, first page", "/api/v1/pending-work/"),
            ("pending work, blocked in A", f"/api/v1/pending-work/?integration={a}&status=blocked"),
            ("pending work, deep page", f"/api/v1/pending-work/?cursor={cursor_at(PendingWork, ('id',), deep)}"),
            ("errors, first page", "/api/v1/activity/errors/"),
            ("errors, open (5 %)", "/api/v1/activity/errors/?status=open"),
            ("errors, open in B, one day", f"/api/v1/activity/errors/?integration={b}&status=open"
                                           f"&since=2026-01-03T00:00:00Z&until=2026-01-04T00:00:00Z"),
            ("errors, deep page", "/api/v1/activity/errors/?cursor="
                                  f"{cursor_at(ActivityError, ('-first_seen', '-id'), deep)}"),
            ("jobs, first page", "/api/v1/activity/jobs/"),
            ("jobs, failed (2 %)", "/api/v1/activity/jobs/?status=failed"),
            ("jobs, deep page", f"/api/v1/activity/jobs/?cursor={cursor_at(BackgroundJob, ('-created_at', '-id'), deep)}"),
            ("audit, first page", "/api/v1/audit/"),
            ("audit, one action", "/api/v1/audit/?action=integration.update"),
            ("audit, deep page", f"/api/v1/audit/?cursor={cursor_at(AuditEvent, ('-at', '-id'), deep)}"),
        ]
        per_page = 50  # tasktop_hub/admin_paging.LargeTableAdminMixin.list_per_page
        last = COUNT_CAP // per_page  # the admin counts to the cap; its pages are numbered from 1
        open_last = min(n // 19, COUNT_CAP) // per_page  # 1 in 19 errors is open
        admin_pages = [
            ("admin pairs, page 1", "/admin/integrations/artifactpair/"),
            (f"admin pairs, page {last} (last under the cap)", f"/admin/integrations/artifactpair/?p={last}"),
            ("admin pairs, integration B", f"/admin/integrations/artifactpair/?integration__id__exact={b}"),
            ("admin pairs, search", "/admin/integrations/artifactpair/?q=L4242"),
            ("admin errors, page 1", "/admin/notifications/activityerror/"),
            (f"admin errors, open, last page ({open_last})",
             f"/admin/notifications/activityerror/?status__exact=open&p={open_last}"),
            ("admin errors, open in B", f"/admin/notifications/activityerror/?status__exact=open&integration={b}"),
            ("admin jobs, one kind", "/admin/notifications/backgroundjob/?kind=engine.full_scan"),
            ("admin jobs, page 1", "/admin/notifications/backgroundjob/"),
            ("admin audit, page 1", "/admin/notifications/auditevent/"),
            (f"admin audit, page {last}", f"/admin/notifications/auditevent/?p={last}"),
            ("admin audit, one action", "/admin/notifications/auditevent/?action=integration.update"),
            ("Activity screen, errors", "/admin/activity/"),
            ("Activity screen, open errors in B", f"/admin/activity/?tab=errors&status=open&integration={b}"),
            ("Activity screen, jobs", "/admin/activity/?tab=jobs"),
        ]
        print(f"\nhub database: {connection.vendor}; {n:,} rows per table; {ARGS.repeats} requests per page; "
              f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("| Page | first ms | p50 ms | p99 ms | CPU ms (p50) | queries | SQL ms (p50) | full GCs (longest ms) |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|")
        pages: list[tuple[str, Client, str, dict[str, str]]] = []
        if ARGS.only in (None, "api"):
            pages += [(f"API {label}", api, url, {"HTTP_AUTHORIZATION": f"Token {token}"}) for label, url in api_pages]
        if ARGS.only in (None, "admin"):
            pages += [(label, web, url, {}) for label, url in admin_pages]
        if ARGS.page:
            pages = [page for page in pages if any(text in page[0] for text in ARGS.page)]
        for label, client, url, headers in pages:
            reset_queries()
            first, p50, p99, queries, sql, cpu, collections = measure(client, url, ARGS.repeats, **headers)
            print(f"| {label} | {first:.1f} | {p50:.1f} | {p99:.1f} | {cpu:.1f} | {queries} | {sql:.1f} | {collections} |",
                  flush=True)
            if ARGS.profile:
                profile(client, url, ARGS.profile, **headers)
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    try:
        main()
    finally:
        if ARGS.db == "postgresql" and not ARGS.keep:
            connection.close()
            with _pg_admin() as pg:
                pg.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
