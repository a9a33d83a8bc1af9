"""Two ``database`` tables wired into one integration, and wrappers that inject latency or
failures into connector calls (clearly labelled: test doubles around the real connector)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integrations.connectors.base import ConnectorError
from integrations.connectors.database import DatabaseConnector
from integrations.connectors.database.schema import create_work_item_table
from integrations.engine import connections, runner
from integrations.models import Collection, Integration, RepositoryConnection, Route

FIELDS = ["summary", "status", "assignee", "priority"]
REMOTE_CALLS = ("changes", "changes_after", "read", "create", "find_by_hub_key", "update", "people", "transition",
                "projects", "fields", "test_connection")


class FlakyConnector:
    """TEST WRAPPER: forwards to a real connector, and makes a share of remote calls fail
    transiently (timeouts, HTTP 500, 429 with Retry-After) before they reach the tool."""

    def __init__(self, inner: Any, rate: float = 0.0, latency: float = 0.0, seed: int | None = None) -> None:
        self._inner = inner
        self.rate = rate
        self.latency = latency
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self.calls: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.injected = 0

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in REMOTE_CALLS:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls[name] = self.calls.get(name, 0) + 1
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                fail = self._random.random() < self.rate
                kind = self._random.choice(("timeout", "500", "429"))
            try:
                if self.latency:
                    time.sleep(self.latency)
                if fail:
                    self.injected += 1
                    if kind == "timeout":
                        raise ConnectorError("injected: read timed out", transient=True)
                    if kind == "500":
                        raise ConnectorError("injected: HTTP 500", transient=True)
                    raise ConnectorError("injected: HTTP 429", transient=True, retry_after=0.01)
                return attr(*args, **kwargs)
            finally:
                with self._lock:
                    self.in_flight -= 1

        return call

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())


@dataclass
class Rig:
    integration: Integration
    left: DatabaseConnector
    right: DatabaseConnector
    wrappers: dict[int, FlakyConnector] = field(default_factory=dict)
    wrap: Callable[[Any], Any] | None = None

    def factory(self, connection: RepositoryConnection) -> Any:
        inner = connections.build(connection)
        if self.wrap is None:
            return inner
        w = self.wrap(inner)
        self.wrappers[connection.pk] = w
        return w

    def run(self, **kwargs: Any) -> dict:
        return runner.run_integration(self.integration.pk, factory=self.factory, **kwargs)

    def run_until_quiet(self, limit: int = 50) -> list[dict]:
        from integrations.engine.models import PendingWork, SyncState

        out = []
        for _ in range(limit):
            out.append(self.run())
            PendingWork.objects.filter(integration=self.integration).update(not_before=None)
            SyncState.objects.filter(integration=self.integration).update(lease_owner="", lease_expires=None)
            if not PendingWork.objects.filter(integration=self.integration, status="ready").exists() and \
                    out[-1].get("detected", 1) == 0:
                return out
        raise AssertionError(f"did not settle: {out[-3:]}")

    def rows(self, side: str) -> dict[str, dict]:
        c = self.left if side == "left" else self.right
        return all_rows(c)


def all_rows(connector: Any) -> dict[str, Any]:
    rows, _ = connector._execute(f"SELECT id FROM {connector.table}")
    return {a.id: a for a in connector.read([str(r[0]) for r in rows])}


def make_rig(left_url: str, right_url: str, *, projects: tuple[str, ...] = ("ALPHA", "BETA"),
             routes: tuple[tuple[str, str], ...] = (("ALPHA", "ALPHA"),), people: bool = False,
             create_tables: bool = True, **integration_fields: Any) -> Rig:
    if create_tables:
        for url in (left_url, right_url):
            create_work_item_table(url, "items", FIELDS, people_table="people" if people else "", drop=True)
    options = {"table": "items", "projects": ",".join(projects), "page_size": 100}
    if people:
        options["people_table"] = "people"
    conns, colls = [], []
    for side, url in (("left", left_url), ("right", right_url)):
        conn = RepositoryConnection.objects.create(name=f"{side}-db", kind="database", url=url, options=options)
        conns.append(conn)
        colls.append(Collection.objects.create(
            name=f"{side}-items", connection=conn, projects=list(projects),
            field_mapping={f: f for f in FIELDS}))
    integration = Integration.objects.create(name="items-sync", left_collection=colls[0], right_collection=colls[1],
                                             run_state="running", **integration_fields)
    for lp, rp in routes:
        Route.objects.create(integration=integration, left_project=lp, right_project=rp)
    return Rig(integration, DatabaseConnector(left_url, options, {}), DatabaseConnector(right_url, options, {}))


def make_people_rig(left_url: str, right_url: str, left_people: list[tuple], right_people: list[tuple]) -> Rig:
    """A rig whose 'assignee' is a person field, with these (id, username, email) rows in each tool."""
    r = make_rig(left_url, right_url, people=True)
    for c in (r.integration.left_collection, r.integration.right_collection):
        c.field_roles = {"assignee": "person"}
        c.save()
    insert = "INSERT INTO people (id, username, email) VALUES (?, ?, ?)"
    for connector, rows in ((r.left, left_people), (r.right, right_people)):
        for row in rows:
            connector._execute(insert, row, fetch=False)
    return r
