"""Processing one artifact pair (or one new artifact): pure decisions plus the remote writes.

Runs in a worker thread: it only talks to the tools (no ORM), and returns the pair to save.
The base keeps, per side, the tool values last synchronized (``{"left": {…}, "right": {…}}``
keyed by model field): a side's field changed when it differs from its base value.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from integrations.connectors.base import ArtifactData, ConnectorError, StaleArtifact
from integrations.engine import clock, templates
from integrations.engine.context import RunContext, other, with_retries
from integrations.engine.leases import LeaseLost
from integrations.engine.mapping import MappingError, convert_many, mapped_fields, transition_path, walks_states
from integrations.models import ArtifactPair


class ConflictError(MappingError):
    """The same field changed on both sides and the strategy is 'error': the pair is blocked."""


@dataclass
class Unit:
    """What one thread processes: an existing pair, or a new artifact (and maybe its twin)."""

    key: str
    pair: ArtifactPair | None = None
    source_side: str = ""
    source_id: str = ""
    twin: ArtifactData | None = None  # a hub-created twin (crash recovery), seen by detection or by hub key
    rows: list = field(default_factory=list)
    intent: dict | None = None  # the base recorded before the twin was created (creation.py)
    plan: Any = None  # creation.CreatePlan: what creating the twin writes, recorded before the create
    prepare_error: Exception | None = None
    find_twin: bool = False  # look for a twin (without an intent) by hub key before creating


@dataclass
class Outcome:
    unit: Unit
    pair: ArtifactPair | None = None
    created: bool = False
    dropped: str = ""
    error: str = ""
    transient: ConnectorError | None = None
    connection_failure: tuple[str, ConnectorError] | None = None
    writes: int = 0
    # Artifacts (side, id, project) the hub wrote but whose read-back is not just the hub's
    # write (a person edited in between): detected again at once instead of taken for an echo.
    recheck: list[tuple[str, str, str]] = field(default_factory=list)
    stale: str = ""  # the tool refused a write because the artifact changed since it was read


def _same(a: Any, b: Any) -> bool:
    return (a if a not in ("", None) else None) == (b if b not in ("", None) else None)


def common_fields(ctx: RunContext) -> list[str]:
    left, right = ctx.sides["left"].view.mapping, ctx.sides["right"].view.mapping
    return [f for f in left if f in right]


def flow(ctx: RunContext, model_field: str) -> tuple[str, str]:
    """A field's (direction, frequency): its field flow, as far as the template allows."""
    spec = (ctx.integration.field_flow or {}).get(model_field) or {}
    return (templates.direction(ctx.integration, spec.get("direction", "both")),
            templates.frequency(ctx.integration, spec.get("frequency", "always")))


def _allows(direction: str, source: str) -> bool:
    return direction == "both" or direction == f"{source}_to_{other(source)}"


def _call(side: str, fn):  # noqa: ANN001, ANN202
    try:
        return with_retries(fn)
    except ConnectorError as exc:
        exc.side = side  # which connection failed
        raise


def reconcile(ctx: RunContext, unit: Unit, pair: ArtifactPair, left: ArtifactData | None,
              right: ArtifactData | None, prefer: str = "left") -> Outcome:
    if left is None or right is None:
        # Deletes are never propagated: the surviving twin is left alone.
        return Outcome(unit, dropped="deleted")
    if pair.establish_base:
        return establish(ctx, unit, pair, left, right)
    arts = {"left": left, "right": right}
    base = pair.base or {}
    old = {"left": dict(base.get("left", {})), "right": dict(base.get("right", {}))}
    new = {"left": dict(old["left"]), "right": dict(old["right"])}
    writes: dict[str, dict[str, Any]] = {"left": {}, "right": {}}
    conflicts = []
    winner: str | None
    seen = {s: mapped_fields(ctx.sides[s].view, arts[s].fields) for s in arts}  # what a transform receives
    play = {}  # field → its values on each side
    for f in common_fields(ctx):
        direction, frequency = flow(ctx, f)
        if direction == "none" or frequency == "on_create":
            continue
        play[f] = {s: arts[s].fields.get(ctx.sides[s].view.mapping[f]) for s in arts}
    # Every field's transforms in one round trip to the sandbox (and another for the fields whose
    # right-side value wins, below), not one per field.
    views = {s: ctx.sides[s].view for s in arts}
    wanted_right = convert_many(views["left"], views["right"], {f: v["left"] for f, v in play.items()}, seen["left"])
    from_right: list[str] = []  # fields whose right value is to be written left
    for f, values in play.items():
        direction, _ = flow(ctx, f)
        fresh = f not in old["left"] and f not in old["right"]
        changed = {s: not fresh and not _same(values[s], old[s].get(f)) for s in arts}
        want_right = wanted_right[f]
        if _same(want_right, values["right"]):
            new["left"][f], new["right"][f] = values["left"], values["right"]
            continue
        if changed["left"] and changed["right"]:
            if direction == "both":
                strategy = (ctx.integration.conflict_overrides or {}).get(f, ctx.integration.conflict_strategy)
                if strategy == "error":
                    conflicts.append(f"{f} (left: {old['left'].get(f)!r} → {values['left']!r}; "
                                     f"right: {old['right'].get(f)!r} → {values['right']!r})")
                    continue
                winner = "left" if strategy == "left_wins" else "right"
            else:
                winner = "left" if _allows(direction, "left") else "right"
        elif changed["left"] or changed["right"]:
            source = "left" if changed["left"] else "right"
            winner = source if _allows(direction, source) else None
            if winner is None:
                new[source][f] = values[source]  # the change does not flow; acknowledge it
                continue
        else:
            winner = prefer if _allows(direction, prefer) else other(prefer)
        if winner == "right":
            from_right.append(f)
            continue
        writes["right"][views["right"].mapping[f]] = want_right
        new["left"][f], new["right"][f] = values["left"], want_right
    if from_right and not conflicts:
        wanted_left = convert_many(views["right"], views["left"], {f: play[f]["right"] for f in from_right},
                                   seen["right"])
        for f in from_right:
            writes["left"][views["left"].mapping[f]] = wanted_left[f]
            new["right"][f], new["left"][f] = play[f]["right"], wanted_left[f]
    if conflicts:
        raise ConflictError(
            "Conflict: changed on both sides since the last synchronization: " + "; ".join(conflicts)
            + ". Neither side was updated. Make both sides agree (or set a conflict strategy), then retry."
        )
    versions = {"left": left.change_version, "right": right.change_version}
    count = 0
    recheck = []
    for side in ("left", "right"):
        if writes[side]:
            versions[side], echo = write(ctx, side, arts[side], writes[side])
            if not echo:
                recheck.append((side, arts[side].id, arts[side].project))
            count += 1
    pair.base = new
    pair.left_version, pair.right_version = versions["left"], versions["right"]
    return Outcome(unit, pair=pair, writes=count, recheck=recheck)


def establish(ctx: RunContext, unit: Unit, pair: ArtifactPair, left: ArtifactData, right: ArtifactData) -> Outcome:
    """An imported pair: both sides as they are now become its base, and nothing is written —
    the twins were kept in step elsewhere, and only a later change on one side flows."""
    arts = {"left": left, "right": right}
    pair.base = {s: {f: arts[s].fields.get(ctx.sides[s].view.mapping[f]) for f in common_fields(ctx)}
                 for s in arts}
    pair.left_version, pair.right_version = left.change_version, right.change_version
    pair.establish_base = False
    return Outcome(unit, pair=pair)


def write(ctx: RunContext, side: str, artifact: ArtifactData, fields: dict[str, Any]) -> tuple[str, bool]:
    """Update one artifact; a state change walks the transition graph. Returns the version to
    record as the hub's own, and whether the artifact now holds only what the hub wrote."""
    view, connector = ctx.sides[side].view, ctx.sides[side].connector
    state_col = view.mapping.get(view.state_field) if view.state_field else None
    plain = {k: v for k, v in fields.items() if k != state_col or not walks_states(view)}
    result = None
    if plain:
        ctx.guard()
        result = _call(side, lambda: connector.update_if_unchanged(artifact, plain))
    if state_col and walks_states(view) and state_col in fields:
        path = transition_path(view, artifact.fields.get(state_col), fields[state_col],
                               mapped_fields(view, artifact.fields))
        for number, step in enumerate(path, 1):
            ctx.guard()
            result = _step(side, path, number, partial(connector.transition, artifact.id, state_col, step))
    if result is None:
        return artifact.change_version, True
    if is_echo(artifact, fields, result):
        return result.change_version, True
    # Someone else's edit is in what the tool holds now: keep the version read before the write,
    # so the state after it counts as a change (and the caller queues it at once).
    return artifact.change_version, False


def is_echo(before: ArtifactData, written: dict[str, Any], after: ArtifactData) -> bool:
    """An echo only if every field read back is what the hub wrote, or else what it read
    before writing: a read-back taken after a person's edit (of any field) is not the hub's."""
    for name, value in after.fields.items():
        expected = written[name] if name in written else before.fields.get(name)
        if not _equal(expected, value):
            return False
    return True


def _equal(a: Any, b: Any) -> bool:
    if _same(a, b):
        return True
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return sorted(map(str, a)) == sorted(map(str, b))
    # A tool may hand back a written "3" as 3 (or a date as text): equal as text is equal.
    return a not in ("", None) and b not in ("", None) and str(a).strip() == str(b).strip()


def create(ctx: RunContext, unit: Unit, source: ArtifactData | None) -> Outcome:
    """Create the twin of a new artifact in the routed project, crash-safely via its hub key."""
    if source is None:
        return Outcome(unit, dropped="deleted")
    if unit.prepare_error is not None:
        raise unit.prepare_error
    src, tgt = unit.source_side, other(unit.source_side)
    route = ctx.routed(src).get(source.project)
    if route is None:
        return Outcome(unit, dropped="unrouted")
    if not templates.creates_on(ctx.integration, tgt):
        return Outcome(unit, dropped="one-way")  # the template only reads that side
    pair = ArtifactPair(integration=ctx.integration, route=route, base={})
    setattr(pair, f"{src}_id", source.id)
    if unit.twin is None and unit.find_twin and unit.plan is not None:
        connector, plan = ctx.sides[tgt].connector, unit.plan
        for key in ctx.hub_keys(src, source.id, route):  # a moved route: the keys of its former integrations too
            unit.twin = _call(tgt, lambda k=key: connector.find_by_hub_key(plan.project, k))
            if unit.twin is not None:
                break
        unit.intent = None
    if unit.twin is not None:
        # Created by an earlier attempt that crashed before recording the pair: adopt it. Its
        # base is what the hub wrote then (none for twins of a hub without intents), so what
        # changed on the twin since is the twin's change, under the conflict strategy.
        setattr(pair, f"{tgt}_id", unit.twin.id)
        pair.base = {s: dict(v) for s, v in (unit.intent or {}).items()}
        arts = {src: source, tgt: unit.twin}
        out = reconcile(ctx, unit, pair, arts["left"], arts["right"], prefer=src)
        out.created = True
        return out
    if unit.plan is None:
        raise RuntimeError(f"{unit.key}: no create intent was recorded; refusing to create its twin")
    created = _create_once(ctx, tgt, unit.plan.project, unit.plan.values, unit.plan.hub_key)
    created = _walk_to_state(ctx, tgt, created, unit.plan.values)
    setattr(pair, f"{tgt}_id", created.id)
    pair.base = {s: dict(v) for s, v in unit.plan.base.items()}
    state = ctx.sides[tgt].view.state_field
    if state and ctx.sides[tgt].view.mapping.get(state) in unit.plan.values:
        # Walked: now the state belongs in the base (creation.plan keeps it out of the intent).
        pair.base[src][state] = source.fields.get(ctx.sides[src].view.mapping[state])
        pair.base[tgt][state] = created.fields.get(ctx.sides[tgt].view.mapping[state])
    setattr(pair, f"{src}_version", source.change_version)
    setattr(pair, f"{tgt}_version", created.change_version)
    return Outcome(unit, pair=pair, created=True, writes=1)


def _walk_to_state(ctx: RunContext, side: str, created: ArtifactData, values: dict) -> ArtifactData:
    """A workflow may create every artifact in its initial state (Redmine does for non-admins):
    walk the transition path to the wanted state now, in the same unit, not a run later."""
    view, connector = ctx.sides[side].view, ctx.sides[side].connector
    state_col = view.mapping.get(view.state_field) if view.state_field else None
    if not state_col or values.get(state_col) in (None, "") or _same(created.fields.get(state_col), values[state_col]):
        return created
    path = transition_path(view, created.fields.get(state_col), values[state_col], mapped_fields(view, created.fields))
    for number, step in enumerate(path, 1):
        ctx.guard()
        created = _step(side, path, number, partial(connector.transition, created.id, state_col, step))
    return created


def _step(side: str, path: list, number: int, do: Callable[[], Any]) -> Any:
    """One transition of a path; a refused one names its step (the earlier steps are applied)."""
    try:
        return _call(side, do)
    except ConnectorError as exc:
        if exc.transient or exc.auth or exc.unreachable:
            raise
        raise MappingError(f"State transition step {number} of {len(path)} (to '{path[number - 1]}', path "
                           f"{' → '.join(map(str, path))}) failed: {exc}") from exc


def _create_once(ctx: RunContext, side: str, project: str, values: dict, hub_key: str) -> ArtifactData:
    """Create, but never twice: a create that failed transiently may have reached the tool
    (lost response), so look for the hub key before trying again."""
    connector = ctx.sides[side].connector
    for attempt in range(3):
        ctx.guard()
        try:
            return connector.create(project, values, hub_key)
        except ConnectorError as exc:
            if not exc.transient or exc.auth or exc.unreachable or attempt == 2:
                exc.side = side
                raise
        clock.sleep(0.05 * 2 ** attempt * random.uniform(0.5, 1.5))  # noqa: S311 — jitter
        found = _call(side, lambda: connector.find_by_hub_key(project, hub_key))
        if found is not None:
            return found
    raise AssertionError("unreachable")


def run_unit(ctx: RunContext, unit: Unit, data: dict[str, dict[str, ArtifactData]]) -> Outcome:
    """Process one unit; every failure becomes part of the outcome (threads never raise)."""
    try:
        if unit.pair is not None:
            return reconcile(ctx, unit, unit.pair, data["left"].get(unit.pair.left_id),
                             data["right"].get(unit.pair.right_id))
        return create(ctx, unit, data[unit.source_side].get(unit.source_id))
    except LeaseLost:
        raise  # the whole run stops; nothing of this unit is committed
    except MappingError as exc:
        return Outcome(unit, error=str(exc))
    except StaleArtifact as exc:
        return Outcome(unit, stale=str(exc))
    except ConnectorError as exc:
        if exc.auth or exc.unreachable:
            return Outcome(unit, connection_failure=(getattr(exc, "side", unit.source_side or "left"), exc))
        if exc.transient:
            return Outcome(unit, transient=exc)
        return Outcome(unit, error=str(exc))
    except Exception as exc:
        import logging

        logging.getLogger(__name__).exception("Processing %s failed", unit.key)
        return Outcome(unit, error=f"Unexpected error: {type(exc).__name__}: {exc}")
