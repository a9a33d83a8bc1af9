"""Everything one run of one integration needs, loaded once: collections, connectors, routes."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings

from integrations.connectors.base import Connector, ConnectorError
from integrations.engine import clock, connections
from integrations.engine.leases import RunLease
from integrations.engine.mapping import Side
from integrations.models import Integration, RepositoryConnection, Route
from settings_app.services import effective_settings

T = TypeVar("T")
SIDES = ("left", "right")
HUB_KEY_PREFIX = "tasktop-hub:"


def other(side: str) -> str:
    return "right" if side == "left" else "left"


@dataclass
class SideContext:
    name: str
    connection: RepositoryConnection
    connector: Connector
    view: Side


@dataclass
class RunContext:
    integration: Integration
    sides: dict[str, SideContext]
    routes: list[Route]
    max_concurrency: int
    overlap_seconds: float = 5.0
    calls: dict[str, int] = field(default_factory=dict)
    lease: RunLease | None = None  # None outside a run (background jobs only record pending work)
    # Integrations this one's routes were moved from (id as text → sides swapped), whose hub keys
    # still name twins created before the move.
    former: dict[str, bool] = field(default_factory=dict)

    def guard(self) -> None:
        """Before a remote write: raise LeaseLost if this run no longer holds its lease."""
        if self.lease is not None:
            self.lease.check()

    def fence(self) -> None:
        """First statement of a commit's transaction: the commit happens only under the lease."""
        if self.lease is not None:
            self.lease.fence()

    def routed(self, side: str) -> dict[str, Route]:
        return {getattr(r, f"{side}_project"): r for r in self.routes}

    def hub_key(self, side: str, artifact_id: str) -> str:
        # Names the integration and the *source* artifact, so it can be recognised from either side.
        return f"{HUB_KEY_PREFIX}{self.integration.pk}:{side}:{artifact_id}"

    def hub_keys(self, side: str, artifact_id: str, route: Route) -> list[str]:
        """The key this integration writes, then the keys a twin created before the route was
        moved here carries (``Route.former``; integrations/moves.py)."""
        keys = [self.hub_key(side, artifact_id)]
        for f in route.former:
            old_side = other(side) if f.get("swapped") else side
            keys.append(f"{HUB_KEY_PREFIX}{f['integration']}:{old_side}:{artifact_id}")
        return keys

    def parse_hub_key(self, hub_key: str) -> tuple[str, str] | None:
        """(source side, source id) of a key this integration wrote, or one written by an
        integration its routes were moved from (sides mapped to this integration's)."""
        if not hub_key or not hub_key.startswith(HUB_KEY_PREFIX):
            return None
        owner, _, rest = hub_key[len(HUB_KEY_PREFIX):].partition(":")
        swapped = False if owner == str(self.integration.pk) else self.former.get(owner)
        side, _, artifact_id = rest.partition(":")
        if swapped is None or side not in SIDES or not artifact_id:
            return None
        return (other(side) if swapped else side, artifact_id)

    def close(self) -> None:
        for s in self.sides.values():
            connections.close(s.connector)


ConnectorFactory = Callable[[RepositoryConnection], Connector]


def load(integration: Integration, factory: ConnectorFactory | None = None) -> RunContext:
    factory = factory or connections.build
    sides = {}
    for name in SIDES:
        collection = getattr(integration, f"{name}_collection")
        connector = factory(collection.connection)
        finder: Callable[[str], list[Any]] = getattr(connector, "find_people", None) or (lambda query: [])
        view = Side(name, collection, people_loader=connector.people, person_finder=finder)
        sides[name] = SideContext(name, collection.connection, connector, view)
    routes = list(integration.routes.all())
    return RunContext(
        integration=integration, sides=sides, routes=routes,
        former={str(f["integration"]): bool(f.get("swapped")) for r in routes for f in r.former},
        max_concurrency=max(1, effective_settings(integration).max_concurrency),
        overlap_seconds=float(getattr(settings, "HUB_ENGINE_OVERLAP_SECONDS", 5.0)),
    )


def with_retries(fn: Callable[[], T], attempts: int = 3, base: float = 0.05, cap: float = 2.0) -> T:
    """Call ``fn``; retry transient connector errors with exponential backoff and jitter,
    honouring Retry-After up to ``cap`` (a longer wait is left to the pending-work backoff)."""
    for attempt in range(attempts):
        try:
            return fn()
        except ConnectorError as exc:
            if not exc.transient or exc.auth or attempt == attempts - 1:
                raise
            delay = base * 2 ** attempt * random.uniform(0.5, 1.5)  # noqa: S311 — jitter
            if exc.retry_after is not None:
                if exc.retry_after > cap:
                    raise
                delay = max(delay, exc.retry_after)
            clock.sleep(min(delay, cap))
    raise AssertionError("unreachable")


def counted(ctx: RunContext, name: str, fn: Callable[[], Any]) -> Any:
    ctx.calls[name] = ctx.calls.get(name, 0) + 1
    return fn()
