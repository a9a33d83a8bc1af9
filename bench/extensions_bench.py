"""Extension sandbox benchmark: calls per second through the pool, the overhead of one call,
and the engine's CPU per artifact with a custom data transformation on every field.

    .venv/bin/python bench/extensions_bench.py        # prints the figures (≈ 5 minutes)
    .venv/bin/python bench/extensions_bench.py --pool-only | --engine-only

(a) A small transform (``v + 1``, called twice per call for the determinism check, as the engine
    does) through a pool of 2 children, one round trip per call, from 1, 2 and 4 threads; then
    the same calls in batches of 5 and 14 (one round trip per batch, as the engine sends the
    fields of one artifact), from 2 threads.
(b) One call from a single thread: the median round trip, the part of it spent in the child
    (fresh context, prelude, script, the call twice), the parent's CPU per call and the child's
    CPU per call (both from the kernel's accounting, so they include the pipe and JSON work).
(c) 300 new artifacts created left → right by the engine (two SQLite tool tables, no latency),
    then all 300 updated (one field changed on the left: every field is compared, so converted),
    with 5 and with 14 mapped fields, without extensions and with one transform on every field
    (3 rounds of each, alternating; medians and ranges printed): the engine process's own CPU
    per artifact (children excluded) and the sandbox children's CPU per artifact, from /proc.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from _hub import bootstrap

BENCH = bootstrap("extensions-bench")

from django.core.management import call_command  # noqa: E402

from extensions import services as ext_services  # noqa: E402
from extensions.sandbox.pool import Call, Pool, get_pool  # noqa: E402
from integrations.connectors.database import DatabaseConnector  # noqa: E402
from integrations.connectors.database.schema import create_work_item_table  # noqa: E402
from integrations.engine import dispatch, runner  # noqa: E402
from integrations.engine.models import PendingWork, SyncState  # noqa: E402
from integrations.models import ArtifactPair, Collection, Integration, RepositoryConnection, Route  # noqa: E402

SMALL = "function transform(v, f) { return v + 1 }"
IDENTITY = "function transform(v, f) { return v === null ? null : String(v) }"


def calls_per_second(pool: Pool, threads: int, total: int, batch: int = 0) -> float:
    each = total // threads

    def work() -> None:
        if batch:
            for i in range(each // batch):
                pool.run_batch([Call([SMALL], "transform", [i], twice=True) for _ in range(batch)], [{}])
        else:
            for i in range(each):
                pool.run(SMALL, "transform", [i, {}], twice=True)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    start = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    done = (each // batch * batch if batch else each) * threads
    return done / (time.perf_counter() - start)


def _cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as fh:
        parts = fh.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def pool_figures() -> None:
    pool = Pool(2)
    for _ in range(4):
        pool.run(SMALL, "transform", [0, {}], twice=True)
    def three(threads: int, total: int, batch: int = 0) -> str:
        rates = sorted(calls_per_second(pool, threads, total, batch) for _ in range(3))
        return f"{rates[1]:,.0f} calls/s (median of 3; {rates[0]:,.0f}–{rates[2]:,.0f})"

    for threads in (1, 2, 4):
        print(f"(a) pool of 2, {threads} thread(s), one call per round trip: {three(threads, 4000)}")
    for batch in (5, 14):
        print(f"(a) pool of 2, 2 threads, batches of {batch} calls: {three(2, 4200, batch)}")
    one = Pool(1)
    one.run(SMALL, "transform", [0, {}], twice=True)
    child = one.idle.get()
    one.idle.put(child)
    rounds, inside = [], []
    n = 2000
    cpu_parent, cpu_child = time.process_time(), _cpu_of(child.proc.pid)
    for i in range(n):
        start = time.perf_counter()
        r = one.run(SMALL, "transform", [i, {}], twice=True)
        rounds.append((time.perf_counter() - start) * 1000)
        inside.append(r.ms)
    cpu_parent, cpu_child = time.process_time() - cpu_parent, _cpu_of(child.proc.pid) - cpu_child
    rounds.sort()
    inside.sort()
    print(f"(b) one call: median round trip {rounds[n // 2]:.3f} ms, of which {inside[n // 2]:.3f} ms in the child's "
          f"call (context + prelude + script + the call twice); CPU per call: parent {cpu_parent / n * 1000:.3f} ms, "
          f"child {cpu_child / n * 1000:.3f} ms")
    pool.close()
    one.close()


def children_cpu() -> float:
    pool = get_pool()
    total = 0.0
    children = [pool.idle.get() for _ in range(pool.size)]
    for child in children:
        if child is not None:
            total += _cpu_of(child.proc.pid)
        pool.idle.put(child)
    return total


def _run_until_done(integration: Integration) -> None:
    for _ in range(50):
        runner.run_integration(integration.pk)
        SyncState.objects.filter(integration=integration).update(lease_owner="", lease_expires=None)
        if not PendingWork.objects.filter(integration=integration).exists():
            return


def engine_run(n: int, fields: list[str], with_transforms: bool, tag: str) -> dict[str, tuple[float, float]]:
    """CPU per artifact (engine process, sandbox children) for creating n artifacts, then updating them."""
    urls = []
    for side in ("left", "right"):
        path = BENCH.tools / f"{tag}-{side}.db"
        path.touch()
        urls.append(f"sqlite:///{path}")
        create_work_item_table(urls[-1], "items", fields, drop=True)
    options = {"table": "items", "projects": "ALPHA", "page_size": 500}
    colls = []
    for side, url in zip(("left", "right"), urls, strict=True):
        conn = RepositoryConnection.objects.create(name=f"{tag}-{side}", kind="database", url=url, options=options)
        # One transform on every field: the right side's "write" (applied to each value sent there).
        field_ext = {f: {"write": "identity"} for f in fields} if with_transforms and side == "right" else {}
        colls.append(Collection.objects.create(name=f"{tag}-{side}-items", connection=conn, projects=["ALPHA"],
                                               field_mapping={f: f for f in fields}, field_extensions=field_ext))
    integration = Integration.objects.create(name=tag, left_collection=colls[0], right_collection=colls[1],
                                             run_state="running")
    Route.objects.create(integration=integration, left_project="ALPHA", right_project="ALPHA")
    left = DatabaseConnector(urls[0], options, {})
    ids = [left.create("ALPHA", {f: f"{f} {i}" for f in fields}, hub_key="").id for i in range(n)]
    figures = {}
    for phase in ("create", "update"):
        if phase == "update":
            time.sleep(1.1)  # past the tool's change-time resolution
            for i, artifact_id in enumerate(ids):
                left.update(artifact_id, {fields[0]: f"changed {i}"})
        children_before, start = children_cpu(), time.process_time()
        _run_until_done(integration)
        cpu, children = time.process_time() - start, children_cpu() - children_before
        figures[phase] = (cpu / n * 1000, children / n * 1000)
    assert ArtifactPair.objects.filter(integration=integration).count() == n, "not all artifacts synced"
    right = DatabaseConnector(urls[1], options, {})
    twins = right.read(ArtifactPair.objects.filter(integration=integration).values_list("right_id", flat=True))
    assert sum(str(a.fields[fields[0]]).startswith("changed") for a in twins) == n, "not all updates synced"
    return figures


def engine_figures(rounds: int = 3) -> None:
    call_command("migrate", verbosity=0)
    runner.processing_blocked_reason = lambda: None  # bench only: no license / master password here
    dispatch.processing_blocked_reason = lambda: None
    ext_services.create(None, name="identity", type="transform", source=IDENTITY)
    n = 300
    all_fields = ["summary", "status", "assignee", "priority", "description", "severity", "component", "version",
                  "reporter", "resolution", "environment", "labels", "due", "estimate"]
    engine_run(50, all_fields[:5], False, "warmup")
    engine_run(50, all_fields[:5], True, "warmup-x")
    for count in (5, 14):
        fields = all_fields[:count]
        # Rounds alternate without / with, and the medians are compared: on a shared machine one
        # run of each moves by tens of per cent.
        plain, with_ext = [], []
        for r in range(rounds):
            plain.append(engine_run(n, fields, False, f"plain{count}-{r}"))
            with_ext.append(engine_run(n, fields, True, f"transformed{count}-{r}"))
        for phase in ("create", "update"):
            p = sorted(x[phase][0] for x in plain)
            w = sorted(x[phase][0] for x in with_ext)
            children = sorted(x[phase][1] for x in with_ext)
            mid = rounds // 2
            print(f"(c) {count} fields, {phase}: engine CPU per artifact {p[mid]:.2f} ms without extensions "
                  f"({p[0]:.2f}–{p[-1]:.2f}), {w[mid]:.2f} ms with a transform on each field ({w[0]:.2f}–{w[-1]:.2f}): "
                  f"{w[mid] / p[mid]:.2f}x; sandbox children {children[mid]:.2f} ms per artifact "
                  f"(engine + children: {(w[mid] + children[mid]) / p[mid]:.2f}x) [medians of {rounds} rounds]")


if __name__ == "__main__":
    print(f"load average at start: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    if "--engine-only" not in sys.argv:
        pool_figures()
    if "--pool-only" not in sys.argv:
        engine_figures()
    print(f"load average at end: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
