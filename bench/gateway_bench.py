"""Gateway benchmark: what one web process takes in, and what the worker turns into artifacts.

    .venv/bin/python bench/gateway_bench.py                      # the hub's database: SQLite (a temp file)
    .venv/bin/python bench/gateway_bench.py --postgres URL       # the hub's database: a fresh PostgreSQL DB

(a) Intake: 2,000 POSTs to /api/v1/gateway/<collection>/ through Django's full request path in
    one process and one thread (no HTTP server: the web server's own cost is not in it), each
    with an Idempotency-Key, 20 % of them repeats: POSTs per second and the median time of a new
    one and of a repeat.
(b) Worker: 1,000 received deliveries taken by one run of a "Gateway: create" integration into a
    SQLite tool table — without a payload extension and with one: deliveries per second from
    the run's start to the last twin created (reshaping, gateway artifacts, pending work, the
    engine's create intents, the creates and the pairs).
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

from _hub import bootstrap

PG_ADMIN = sys.argv[sys.argv.index("--postgres") + 1] if "--postgres" in sys.argv else ""
PG_NAME = f"gwbench_{uuid.uuid4().hex[:8]}"
if PG_ADMIN:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{PG_NAME}"')
BENCH = bootstrap("gateway-bench", **({"DATABASE_URL": PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_NAME} if PG_ADMIN else {}))

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from extensions import services as ext_services  # noqa: E402
from integrations.connectors.database.schema import create_work_item_table  # noqa: E402
from integrations.engine import runner  # noqa: E402
from integrations.gateway import services as gateway  # noqa: E402
from integrations.models import Collection, GatewayDelivery, Integration, RepositoryConnection, Route  # noqa: E402
from tasktop_hub import setup_gate  # noqa: E402

FIELDS = ["summary", "status", "priority"]
RESHAPE = "function reshape(p) { return {summary: p.alert.title, priority: String(p.alert.level), status: 'New'} }"


def gateway_integration(name: str, with_extension: bool) -> tuple[Collection, Integration]:
    url = f"sqlite:///{BENCH.tools / (name + '.db')}"
    Path(url.removeprefix("sqlite:///")).touch()
    create_work_item_table(url, "items", FIELDS)
    ext = ext_services.create(None, name=f"shape-{name}", type="payload", source=RESHAPE) if with_extension else None
    conn = RepositoryConnection.objects.create(name=f"gw-{name}", kind="gateway", url="", options={})
    gw = Collection.objects.create(name=f"alerts-{name}", connection=conn, projects=["ALERTS"], payload_extension=ext,
                                   field_mapping={f: f for f in FIELDS}, gateway_rate_limit=100_000)
    tool_conn = RepositoryConnection.objects.create(name=f"tool-{name}", kind="database", url=url,
                                                    options={"table": "items", "projects": "ALPHA"})
    tool = Collection.objects.create(name=f"tool-{name}", connection=tool_conn, projects=["ALPHA"],
                                     field_mapping={f: f for f in FIELDS})
    integration = Integration.objects.create(name=f"in-{name}", template="gateway_create", left_collection=gw,
                                             right_collection=tool, run_state="stopped")
    Route.objects.create(integration=integration, left_project="ALERTS", right_project="ALPHA")
    return gw, integration


def intake_figures() -> None:
    gw, _ = gateway_integration("intake", False)
    token = gateway.regenerate_token(gw, None)
    client, url = Client(HTTP_HOST="127.0.0.1"), f"/api/v1/gateway/{gw.pk}/"
    rng = random.Random(3)
    keys = [f"k{i}" for i in range(1600)]
    sends = keys + [rng.choice(keys) for _ in range(400)]
    rng.shuffle(sends)
    seen: set[str] = set()
    new_ms, repeat_ms = [], []
    started = time.perf_counter()
    for key in sends:
        t = time.perf_counter()
        r = client.post(url, json.dumps({"summary": f"alert {key}", "priority": "2"}), content_type="application/json",
                        HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_IDEMPOTENCY_KEY=key)
        (repeat_ms if key in seen else new_ms).append((time.perf_counter() - t) * 1000)
        assert r.status_code == (200 if key in seen else 202), r.content
        seen.add(key)
    elapsed = time.perf_counter() - started
    assert GatewayDelivery.objects.filter(collection=gw).count() == 1600
    print(f"(a) intake: {len(sends)} POSTs in {elapsed:.2f} s = {len(sends) / elapsed:.0f} POSTs/s (one process, one "
          f"thread); median new {statistics.median(new_ms):.2f} ms, median repeat {statistics.median(repeat_ms):.2f} ms")


def worker_figures(with_extension: bool) -> None:
    name = "ext" if with_extension else "plain"
    gw, integration = gateway_integration(name, with_extension)
    n = 1000
    for i in range(n):
        payload = {"alert": {"title": f"alert {i}", "level": i % 4 + 1}} if with_extension else \
            {"summary": f"alert {i}", "priority": str(i % 4 + 1), "status": "New"}
        gateway.receive(gw, payload, f"k{i}")
    Integration.objects.filter(pk=integration.pk).update(run_state="running")
    started = time.perf_counter()
    created = 0
    while created < n:
        created += runner.run_integration(integration.pk).get("created", 0)
    elapsed = time.perf_counter() - started
    what = "with a payload extension" if with_extension else "without an extension"
    print(f"(b) worker, {what}: {n} deliveries → twins in {elapsed:.2f} s = {n / elapsed:.0f} deliveries/s")


if __name__ == "__main__":
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; hub database: "
          f"{'PostgreSQL' if PG_ADMIN else 'SQLite'}")
    call_command("migrate", verbosity=0)
    setup_gate.is_set_up = lambda: True  # bench only: no license / master password here
    runner.processing_blocked_reason = lambda: None
    try:
        intake_figures()
        worker_figures(False)
        worker_figures(True)
    finally:
        if PG_ADMIN:
            from django.db import connections

            connections.close_all()
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)')
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
