"""Pair import benchmark: 100,000 pairs, dry run and real import, then export.

    .venv/bin/python bench/pairs_import_bench.py [N]      # default N = 100000

The hub's own database is SQLite in a temporary HUB_HOME (the embedded default); with
DATABASE_URL set (e.g. a fresh PostgreSQL database) it uses that instead. One integration on
two ``database`` connections with one route; the file is CSV with the optional project columns.
Verification is not measured here: it costs one ``read`` per page of ids per side in the tools.
"""

from __future__ import annotations

import io
import sys
import time

from _hub import bootstrap

BENCH = bootstrap("pairs-bench")

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from integrations import pairs_io  # noqa: E402
from integrations.engine.models import PendingWork  # noqa: E402
from integrations.models import ArtifactPair, Collection, Integration, RepositoryConnection, Route  # noqa: E402


def setup() -> None:
    call_command("migrate", verbosity=0)
    colls = []
    for side in ("left", "right"):
        path = BENCH.tools / f"{side}.db"
        path.touch()
        conn = RepositoryConnection.objects.create(name=f"{side}-db", kind="database", url=f"sqlite:///{path}",
                                                   options={"table": "items", "projects": "ALPHA"})
        colls.append(Collection.objects.create(name=f"{side}-items", connection=conn, projects=["ALPHA"],
                                               field_mapping={"summary": "summary"}))
    i = Integration.objects.create(name="items-sync", left_collection=colls[0], right_collection=colls[1])
    Route.objects.create(integration=i, left_project="ALPHA", right_project="ALPHA")


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    setup()
    text = "".join(["integration,left_connection,left_id,right_connection,right_id,left_project,right_project\n"]
                   + [f"items-sync,left-db,{k},right-db,{k + 10_000_000},ALPHA,ALPHA\n" for k in range(1, n + 1)])
    print(f"hub database: {connection.vendor}; {n:,} rows, {len(text) / 1e6:.1f} MB of CSV")
    t0 = time.perf_counter()
    report = pairs_io.dry_run(text, "csv")
    t1 = time.perf_counter()
    assert report.ok and report.counts["add"] == n, report.counts
    print(f"dry run (new pairs):      {t1 - t0:6.2f} s   {report.counts}")
    result = pairs_io.apply(report, None)
    t2 = time.perf_counter()
    assert ArtifactPair.objects.count() == n and PendingWork.objects.count() == n
    print(f"real import:              {t2 - t1:6.2f} s   {result} (pairs + pending rows, one transaction)")
    t3 = time.perf_counter()
    again = pairs_io.dry_run(text, "csv")
    t4 = time.perf_counter()
    assert again.counts["present"] == n
    print(f"dry run (all present):    {t4 - t3:6.2f} s")
    out = io.StringIO()
    t5 = time.perf_counter()
    exported = pairs_io.write_export(pairs_io.export(), "csv", out)
    t6 = time.perf_counter()
    print(f"export:                   {t6 - t5:6.2f} s   {exported:,} rows")


if __name__ == "__main__":
    main()
