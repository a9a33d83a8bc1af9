"""Preparing the creation of twins, so that a crash anywhere in the create path loses nothing.

Before any twin of a batch is created (in the batch's own thread, before the units run):

1. every new artifact's twin is looked up by hub key, in the tools, on the run's pool — an
   earlier attempt may have created it and died before committing the pair;
2. a twin found is *adopted*: its pair starts from the :class:`CreateIntent` recorded before
   that earlier create (what the hub wrote), so the twin's changes since count as its own;
3. for the others, what will be written is planned and recorded as a ``CreateIntent`` in one
   fenced transaction, before any remote create. The intent is deleted with the pair's commit.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from integrations.connectors.base import ArtifactData, ConnectorError
from integrations.engine import clock
from integrations.engine.context import RunContext, other
from integrations.engine.mapping import MappingError, convert, mapped_fields
from integrations.engine.models import CreateIntent
from integrations.engine.reconcile import _allows, _call, common_fields, flow
from integrations.models import Route

CHUNK = 500


@dataclass
class CreatePlan:
    """What creating one twin writes: the target tool's values, and the pair's base after it."""

    project: str
    hub_key: str
    values: dict[str, Any]
    base: dict[str, dict[str, Any]]


def plan(ctx: RunContext, source_side: str, source: ArtifactData, route: Route) -> CreatePlan:
    src, tgt = source_side, other(source_side)
    values, base_src, base_tgt = {}, {}, {}
    fields = mapped_fields(ctx.sides[src].view, source.fields)
    for f in common_fields(ctx):
        direction, _ = flow(ctx, f)
        if not _allows(direction, src):
            continue
        value = source.fields.get(ctx.sides[src].view.mapping[f])
        converted = convert(ctx.sides[src].view, ctx.sides[tgt].view, f, value, fields)
        values[ctx.sides[tgt].view.mapping[f]] = converted
        base_src[f], base_tgt[f] = value, converted
    return CreatePlan(project=getattr(route, f"{tgt}_project"), hub_key=ctx.hub_key(src, source.id), values=values,
                      base={src: base_src, tgt: base_tgt})


def prepare(ctx: RunContext, units: list, data: dict[str, dict[str, ArtifactData]], pool: ThreadPoolExecutor) -> None:
    """Fill ``twin``, ``intent``, ``plan`` or ``prepare_error`` of every unit that creates a twin."""
    todo = []
    for u in units:
        source = data[u.source_side].get(u.source_id) if u.pair is None else None
        if source is None:
            continue
        route = ctx.routed(u.source_side).get(source.project)
        if route is not None:
            todo.append((u, source, route))
    if not todo:
        return

    def find(u, source: ArtifactData, route: Route) -> ArtifactData | None:  # noqa: ANN001
        tgt = other(u.source_side)
        connector = ctx.sides[tgt].connector
        project, key = getattr(route, f"{tgt}_project"), ctx.hub_key(u.source_side, source.id)
        return _call(tgt, lambda: connector.find_by_hub_key(project, key))

    lookups = [(u, pool.submit(find, u, s, r)) for u, s, r in todo if u.twin is None]
    for u, future in lookups:
        try:
            u.twin = future.result()
        except ConnectorError as exc:
            u.prepare_error = exc
    recorded = _recorded(ctx, [u for u, _, _ in todo if u.twin is not None])
    planned = []
    for u, source, route in todo:
        if u.prepare_error is not None:
            continue
        if u.twin is not None:
            u.intent = recorded.get((u.source_side, u.source_id))
            continue
        try:
            u.plan = plan(ctx, u.source_side, source, route)
        except (MappingError, ConnectorError) as exc:
            u.prepare_error = exc
            continue
        planned.append(u)
    if planned:
        _record(ctx, planned)


def _recorded(ctx: RunContext, units: list) -> dict[tuple[str, str], dict]:
    out: dict[tuple[str, str], dict] = {}
    for side in ("left", "right"):
        ids = [u.source_id for u in units if u.source_side == side]
        for start in range(0, len(ids), CHUNK):
            for artifact_id, base in CreateIntent.objects.filter(
                    integration=ctx.integration, side=side, artifact_id__in=ids[start:start + CHUNK]
            ).values_list("artifact_id", "base"):
                out[(side, artifact_id)] = base
    return out


def _record(ctx: RunContext, units: list) -> None:
    now = clock.now()
    rows = [CreateIntent(integration=ctx.integration, side=u.source_side, artifact_id=u.source_id, base=u.plan.base,
                         recorded_at=now) for u in units]
    kwargs: dict[str, Any] = {}
    if connection.features.supports_update_conflicts_with_target:
        kwargs["unique_fields"] = ["integration", "side", "artifact_id"]
    with transaction.atomic():
        ctx.fence()
        # A retry overwrites an earlier intent: no twin exists for it (the lookup found none).
        CreateIntent.objects.bulk_create(rows, update_conflicts=True, update_fields=["base", "recorded_at"],
                                         batch_size=CHUNK, **kwargs)


def forget(ctx: RunContext, units: list) -> None:
    """Inside the commit's transaction: the pairs of these units are recorded (or they were dropped)."""
    for side in ("left", "right"):
        ids = [u.source_id for u in units if u.pair is None and u.source_side == side]
        for start in range(0, len(ids), CHUNK):
            CreateIntent.objects.filter(integration=ctx.integration, side=side,
                                        artifact_id__in=ids[start:start + CHUNK]).delete()
