"""Preparing the creation of twins, so that a crash anywhere in the create path loses nothing.

Before any twin of a batch is created (in the batch's own thread, before the units run):

1. a new artifact with a :class:`CreateIntent` from an earlier attempt (which may have created
   the twin and died before committing the pair) has its twin looked up by hub key, on the
   run's pool; a twin found is *adopted*: its pair starts from that intent (what the hub wrote),
   so the twin's changes since count as its own;
2. for the others, what will be written is planned and recorded as a ``CreateIntent`` in one
   fenced transaction, before any remote create. The intent is deleted with the pair's commit.
   Their own thread still looks for a twin by hub key before creating (one made by a hub
   without intents is adopted with an empty base, as before).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction

from integrations.connectors.base import ArtifactData, ConnectorError
from integrations.engine import clock, templates
from integrations.engine.context import RunContext, other
from integrations.engine.mapping import MappingError, convert_many, mapped_fields
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
    # The state is reached after the create by transitions (a tool may create in its initial
    # state only): kept out of the intent, so a twin adopted before the walk ended is walked on,
    # not taken to have changed state. reconcile.create adds it to the base once walked.
    walked = ctx.sides[tgt].view.state_field
    flowing = {f: source.fields.get(ctx.sides[src].view.mapping[f]) for f in common_fields(ctx)
               if _allows(flow(ctx, f)[0], src)}
    # All the fields at once: their transforms take one round trip to the sandbox.
    converted = convert_many(ctx.sides[src].view, ctx.sides[tgt].view, flowing, fields)
    for f, value in flowing.items():
        values[ctx.sides[tgt].view.mapping[f]] = converted[f]
        if f != walked:
            base_src[f], base_tgt[f] = value, converted[f]
    return CreatePlan(project=getattr(route, f"{tgt}_project"), hub_key=ctx.hub_key(src, source.id), values=values,
                      base={src: base_src, tgt: base_tgt})


def prepare(ctx: RunContext, units: list, data: dict[str, dict[str, ArtifactData]], pool: ThreadPoolExecutor) -> None:
    """Fill ``twin``, ``intent``, ``plan``, ``find_twin`` or ``prepare_error`` of every unit that
    creates a twin, and record the intents of those about to be created."""
    todo = []
    for u in units:
        source = data[u.source_side].get(u.source_id) if u.pair is None else None
        if source is None:
            continue
        route = ctx.routed(u.source_side).get(source.project)
        if route is not None and templates.creates_on(ctx.integration, other(u.source_side)):
            todo.append((u, source, route))
    if not todo:
        return
    recorded = _recorded(ctx, [u for u, _, _ in todo])

    def find(u, source: ArtifactData, route: Route) -> ArtifactData | None:  # noqa: ANN001
        tgt = other(u.source_side)
        connector = ctx.sides[tgt].connector
        project = getattr(route, f"{tgt}_project")
        for key in ctx.hub_keys(u.source_side, source.id, route):  # a moved route: its old keys too
            found = _call(tgt, lambda k=key: connector.find_by_hub_key(project, k))
            if found is not None:
                return found
        return None

    # Only a source with an intent can have a twin from a crashed attempt: those are looked up
    # now (before their intent could be replaced); the rest look up in their own thread, as
    # the create starts, without holding up the batch.
    lookups = [(u, pool.submit(find, u, s, r)) for u, s, r in todo
               if u.twin is None and (u.source_side, u.source_id) in recorded]
    for u, future in lookups:
        try:
            u.twin = future.result()
        except ConnectorError as exc:
            u.prepare_error = exc
    planned = []
    for u, source, route in todo:
        key = (u.source_side, u.source_id)
        if u.prepare_error is not None:
            continue
        if u.twin is not None:
            u.intent = recorded.get(key)
            continue
        try:
            u.plan = plan(ctx, u.source_side, source, route)
        except (MappingError, ConnectorError) as exc:
            u.prepare_error = exc
            continue
        u.find_twin = key not in recorded  # a twin without an intent: made before intents existed
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
    """Inside the commit's transaction: the pairs of these units are recorded."""
    for side in ("left", "right"):
        ids = [u.source_id for u in units if u.source_side == side]
        for start in range(0, len(ids), CHUNK):
            CreateIntent.objects.filter(integration=ctx.integration, side=side,
                                        artifact_id__in=ids[start:start + CHUNK]).delete()
