"""Configuration checks that name the problem: before an integration is run (refused) and at
run time (one Activity issue per integration, resolved when the configuration is fixed)."""

from __future__ import annotations

import time

from integrations.connectors.base import ConnectorError
from integrations.engine import connections, templates
from integrations.engine.mapping import graph_problems
from integrations.models import Collection, Integration
from notifications import services as activity

_LIVE_CACHE: dict[int, tuple[float, tuple, list[str]]] = {}
LIVE_CACHE_SECONDS = 600


def issue_key(integration: Integration) -> str:
    return f"integration-config:{integration.pk}"


def _static(integration: Integration) -> list[str]:
    problems = []
    left, right = integration.left_collection, integration.right_collection
    common = set(left.field_mapping or {}) & set(right.field_mapping or {})
    if not common:
        problems.append(f"Collections '{left.name}' and '{right.name}' map no model field in common: nothing can flow.")
    for name in (integration.field_flow or {}):
        if name not in common:
            problems.append(f"Field flow names '{name}', which is not a model field mapped by both collections "
                            f"(mapped by both: {', '.join(sorted(common)) or 'none'}).")
    for name in (integration.conflict_overrides or {}):
        if name not in common:
            problems.append(f"Conflict override names unknown field '{name}'.")
    for c in (left, right):
        for p in graph_problems(c):
            problems.append(f"Transition graph of collection '{c.name}': {p}.")
    problems += templates.problems(integration)
    for r in integration.routes.all():
        if r.left_project not in left.projects:
            problems.append(f"Route {r}: project '{r.left_project}' is not in collection '{left.name}'.")
        if r.right_project not in right.projects:
            problems.append(f"Route {r}: project '{r.right_project}' is not in collection '{right.name}'.")
    return problems


def _live_collection(collection: Collection, *, creates: bool) -> list[str]:
    """Ask the tool: do the mapped fields and the projects exist, and can the hub create there
    if the template creates on this side? (Connection failures are not configuration problems:
    they become the connection's issue at run time.)"""
    try:
        connector = connections.build(collection.connection)
    except ConnectorError as exc:
        return [f"Connection '{collection.connection.name}': {exc}"]
    problems = []
    try:
        fields = connector.fields()
        unknown = sorted(v for v in (collection.field_mapping or {}).values() if v not in fields)
        if unknown:
            problems.append(f"Collection '{collection.name}' maps unknown field(s) {', '.join(unknown)}; "
                            f"connection '{collection.connection.name}' has: {', '.join(sorted(fields))}.")
        projects = connector.projects()
        missing = [p for p in collection.projects if p not in projects]
        if missing:
            problems.append(f"Collection '{collection.name}' lists project(s) {', '.join(missing)} that connection "
                            f"'{collection.connection.name}' lacks (it has: {', '.join(projects) or 'none'}).")
        if creates and (problem := connector.creation_problem()):
            problems.append(f"Collection '{collection.name}': {problem}")
    except NotImplementedError:
        pass  # a connector that cannot describe itself is not checked
    except ConnectorError as exc:
        if not connections.is_connection_failure(exc):
            problems.append(f"Connection '{collection.connection.name}': {exc}")
    finally:
        connections.close(connector)
    return problems


def config_problems(integration: Integration, *, live: bool = True) -> list[str]:
    problems = _static(integration)
    if live:
        problems += _live(integration)
    return problems


def _live(integration: Integration) -> list[str]:
    return [p for side in ("left", "right") for p in _live_collection(
        getattr(integration, f"{side}_collection"), creates=templates.creates_on(integration, side))]


def cached_live_problems(integration: Integration) -> list[str]:
    """Live checks at run time, at most every ten minutes per configuration version."""
    stamp = (integration.updated_at, integration.left_collection.updated_at, integration.right_collection.updated_at)
    hit = _LIVE_CACHE.get(integration.pk)
    now = time.monotonic()
    if hit and hit[1] == stamp and now - hit[0] < LIVE_CACHE_SECONDS:
        return hit[2]
    problems = _live(integration)
    _LIVE_CACHE[integration.pk] = (now, stamp, problems)
    return problems


def raise_config_issue(integration: Integration, problems: list[str]) -> None:
    activity.raise_issue(issue_key(integration), f"Integration '{integration.name}' is misconfigured",
                         " ".join(problems) + " Nothing is processed until this is fixed.")


def resolve_config_issue(integration: Integration) -> None:
    activity.resolve_issue(issue_key(integration))
