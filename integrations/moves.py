"""Moving routes from one integration to another, with everything that makes their artifacts
known: pairs (with base values and versions), change cursors, pending work, create intents and
open Activity errors. The seed's "Move Routes Between Integrations".

Why so careful: a route whose pairs stay behind makes the target create every twin again. So:

* :func:`review` refuses a move unless both integrations synchronize the same kind of artifacts
  through the same connections (or a declared successor), and the target can take the routes
  and pairs without clashing; it counts what will move and warns about running integrations.
* :func:`move` holds both integrations' run leases for its whole duration (no run of either
  starts meanwhile), records a durable :class:`RouteMove` first and moves in batches, one
  transaction each, every batch fenced by both leases. A move killed half way leaves the
  ``RouteMove`` unfinished: both integrations' runs skip while it is (``engine/runner.py``) and
  asking for the same move again resumes it where it stopped. Each batch selects what is still
  on the source, so nothing is moved twice or left behind.
* Hub keys written under the source stay recognised: each moved route remembers the
  integrations it came from (``Route.former``), and the engine accepts their keys
  (``engine/context.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from integrations.engine import clock, leases
from integrations.engine.models import ChangeCursor, CreateIntent, PendingWork, SyncState
from integrations.models import ArtifactPair, Collection, Integration, Route, RouteMove
from notifications import services as activity
from notifications.services import Actor, record_audit


def batch_size() -> int:
    return max(1, int(settings.HUB_ROUTE_MOVE_BATCH))
SIDES = ("left", "right")


def other(side: str) -> str:
    return "right" if side == "left" else "left"


@dataclass
class Review:
    """What a move would do, or why it cannot."""

    source: Integration
    target: Integration
    routes: list[Route]
    swap: bool
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": {"id": self.source.pk, "name": self.source.name},
            "target": {"id": self.target.pk, "name": self.target.name},
            "routes": [{"id": r.pk, "left_project": r.left_project, "right_project": r.right_project}
                       for r in self.routes],
            "swap": self.swap, "allowed": not self.problems, "problems": self.problems,
            "warnings": self.warnings, "counts": self.counts,
        }


def _integration(value: Any, what: str) -> Integration:
    try:
        return Integration.objects.select_related(
            "left_collection__connection", "right_collection__connection").get(pk=int(value))
    except (TypeError, ValueError, Integration.DoesNotExist):
        raise ValidationError({what: f"Give the id of an existing integration (got {value!r})."}) from None


def find_integration(value: str) -> Integration:
    """An integration by id or name (commands)."""
    found = Integration.objects.filter(Q(name=value) | Q(pk=int(value) if value.isdigit() else None)).first()
    if found is None:
        raise ValidationError(f"No integration named or numbered '{value}'.")
    return found


def _mapped_side(side: str, swap: bool) -> str:
    """The target side that takes the source's ``side``."""
    return other(side) if swap else side


def _processing(integration: Integration, ours: tuple[str, ...] = ()) -> bool:
    """A live holder has the run lease (a killed one's lease is as good as free: leases.py)."""
    owner = SyncState.objects.filter(integration=integration, lease_expires__gte=clock.now()).exclude(
        lease_owner="").values_list("lease_owner", flat=True).first()
    return owner is not None and owner not in ("", *ours) and not leases.holder_dead(owner)


def unfinished(integration_id: int) -> RouteMove | None:
    return RouteMove.objects.filter(status=RouteMove.Status.MOVING).filter(
        Q(source_id=integration_id) | Q(target_id=integration_id)).first()


def review(source_id: Any, target_id: Any, route_ids: Any, swap: bool = False, ours: tuple[str, ...] = ()) -> Review:
    """What the move would do and why it cannot; ``ours``: run leases the caller holds for it."""
    source, target = _integration(source_id, "source"), _integration(target_id, "target")
    if not isinstance(route_ids, list | tuple) or not route_ids:
        raise ValidationError({"routes": "Give the ids of one or more routes of the source integration."})
    try:
        ids = sorted({int(r) for r in route_ids})
    except (TypeError, ValueError):
        raise ValidationError({"routes": "Route ids are whole numbers."}) from None
    resumed = _resumable(source, target, ids, swap)
    routes = list(Route.objects.filter(pk__in=ids).order_by("pk"))
    r = Review(source, target, routes, bool(swap))
    missing = sorted(set(ids) - {x.pk for x in routes})
    if missing:
        r.problems.append(f"No route with id {', '.join(map(str, missing))}.")
    if resumed is None:
        elsewhere = [x for x in routes if x.integration_id != source.pk]
        if elsewhere:
            r.problems.append("Not routes of the source integration '{}': {}.".format(
                source.name, ", ".join(f"{x.pk} ({x})" for x in elsewhere)))
        _check_integrations(r)
        if not r.problems:
            _check_fit(r)
    for integration in (source, target):
        move = unfinished(integration.pk)
        if move is not None and move != resumed:
            r.problems.append(f"Integration '{integration.name}' is part of an unfinished move (#{move.pk}): "
                              "run that move again to finish it first.")
        if _processing(integration, ours):
            r.problems.append(f"Integration '{integration.name}' is processing right now; try again when its "
                              "run has ended (or stop it).")
        elif integration.is_running:
            r.warnings.append(f"Integration '{integration.name}' is running: stopping both integrations is "
                              "recommended. Their runs are held off while the move lasts.")
    if resumed is not None:
        r.warnings.append(f"Resumes the unfinished move #{resumed.pk}.")
    r.counts = _counts(r)
    return r


def _resumable(source: Integration, target: Integration, ids: list[int], swap: bool) -> RouteMove | None:
    move = unfinished(source.pk)
    if move and move.source_id == source.pk and move.target_id == target.pk and sorted(move.routes) == ids \
            and move.swap == bool(swap):
        return move
    return None


def _check_integrations(r: Review) -> None:
    s, t = r.source, r.target
    if s.pk == t.pk:
        r.problems.append("The source and the target are the same integration.")
        return
    for i in (s, t):
        if i.template != Integration.Template.SYNCHRONIZE:
            r.problems.append(f"'{i.name}' is not a two-way Synchronize integration; routes move only between those.")
    for side in SIDES:
        tside = _mapped_side(side, r.swap)
        sc: Collection = getattr(s, f"{side}_collection")
        tc: Collection = getattr(t, f"{tside}_collection")
        sconn, tconn = sc.connection, tc.connection
        if sconn.pk not in tconn.lineage():
            r.problems.append(
                f"The source's {side} side uses connection '{sconn.name}' but the target's {tside} side uses "
                f"'{tconn.name}': routes move only between integrations on the same connections, or onto a "
                f"connection declared the successor of the source's.")
        # The hub has no separate artifact type: a collection's artifacts are what its connector
        # kind holds, seen through the tool fields it maps. Both must agree.
        if sconn.kind != tconn.kind or set(sc.field_mapping.values()) != set(tc.field_mapping.values()):
            r.problems.append(
                f"The source's {side} collection '{sc.name}' and the target's {tside} collection '{tc.name}' "
                f"do not hold the same artifact type (connector kind and mapped tool fields differ).")


def _check_fit(r: Review) -> None:
    t = r.target
    taken = {s: set(t.routes.values_list(f"{s}_project", flat=True)) for s in SIDES}
    keys = {str(f.get("integration")): bool(f.get("swapped")) for x in t.routes.all() for f in x.former}
    if str(r.source.pk) in keys and keys[str(r.source.pk)] != r.swap:
        r.problems.append(f"The target already holds routes moved from '{r.source.name}' with the sides the "
                          "other way round; move these the same way.")
    for route in r.routes:
        for side in SIDES:
            tside = _mapped_side(side, r.swap)
            project = getattr(route, f"{side}_project")
            coll = getattr(t, f"{tside}_collection")
            if project not in coll.projects:
                r.problems.append(f"Route {route.pk}: project '{project}' is not in the target's {tside} "
                                  f"collection '{coll.name}'.")
            if project in taken[tside]:
                r.problems.append(f"Route {route.pk}: the target already routes {tside} project '{project}'.")
    ids = [x.pk for x in r.routes]
    for side in SIDES:
        tside = _mapped_side(side, r.swap)
        moving = ArtifactPair.objects.filter(route_id__in=ids, integration=r.source).values(f"{side}_id")
        clash = ArtifactPair.objects.filter(integration=t, **{f"{tside}_id__in": moving}).count()
        if clash:
            r.problems.append(f"{clash} artifact(s) of the moving pairs are already paired in the target "
                              f"(its {tside} side): moving them would pair an artifact twice.")


def _routed_projects(routes: list[Route]) -> dict[str, list[str]]:
    return {s: [getattr(x, f"{s}_project") for x in routes] for s in SIDES}


def _pending_on_source(move_source: int, routes: list[Route]) -> Any:
    projects = _routed_projects(routes)
    return PendingWork.objects.filter(integration_id=move_source).filter(
        Q(side="left", project__in=projects["left"]) | Q(side="right", project__in=projects["right"]))


def _counts(r: Review) -> dict[str, int]:
    ids = [x.pk for x in r.routes]
    pairs = ArtifactPair.objects.filter(route_id__in=ids, integration=r.source)
    pending = _pending_on_source(r.source.pk, r.routes)
    labels = _error_labels(r.source, r.target, r.swap, list(pairs.values_list("left_id", "right_id")),
                           list(pending.values_list("side", "artifact_id")))
    return {
        "routes": len(r.routes), "pairs": pairs.count(), "pending": pending.count(),
        "open_errors": activity.count_live_errors(r.source.pk, list(labels)),
    }


def _conn_name(integration: Integration, side: str) -> str:
    return getattr(integration, f"{side}_collection").connection.name


def _error_labels(source: Integration, target: Integration, swap: bool, pairs: list[tuple[str, str]],
                  pending: list[tuple[str, str]]) -> dict[str, str]:
    """Activity error label on the source → the same artifact's label on the target (the
    engine names a pair by its left artifact, a new artifact by itself)."""
    out = {}
    for left_id, right_id in pairs:
        new_left = right_id if swap else left_id
        out[f"{_conn_name(source, 'left')}:{left_id}"] = f"{_conn_name(target, 'left')}:{new_left}"
    for side, artifact_id in pending:
        out.setdefault(f"{_conn_name(source, side)}:{artifact_id}",
                       f"{_conn_name(target, _mapped_side(side, swap))}:{artifact_id}")
    return out


class MoveRefused(Exception):
    """The move cannot start (or resume) now; nothing was changed."""


def start(source_id: Any, target_id: Any, route_ids: Any, swap: bool, actor: Actor,
          ours: tuple[str, ...] = ()) -> RouteMove:
    """Record the move (after a last review) — or return the unfinished identical one, to resume."""
    r = review(source_id, target_id, route_ids, swap, ours)
    if r.problems:
        raise ValidationError({"move": r.problems})
    with transaction.atomic():
        move = _resumable(r.source, r.target, sorted(x.pk for x in r.routes), swap)
        if move is None:
            move = RouteMove.objects.create(source=r.source, target=r.target, routes=[x.pk for x in r.routes],
                                            swap=bool(swap), counts=r.counts)
            record_audit(actor, "route.move.start", f"routemove:{move.pk}", from_integration=r.source.name,
                         to_integration=r.target.name, routes=move.routes, swap=move.swap)
    return move


def run(move_id: int, progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Carry out (or resume) a recorded move under both run leases. Returns what moved."""
    move = RouteMove.objects.select_related("source", "target").get(pk=move_id)
    if move.status == RouteMove.Status.DONE:
        return dict(move.counts.get("moved", {}))
    with _leases(move.source, move.target) as held:
        return _carry_out(move, held, progress or (lambda done, total: None))


def start_and_run(source_id: int, target_id: int, route_ids: list[int], swap: bool, actor: Actor,
                  progress: Callable[[int, int], None] | None = None) -> tuple[RouteMove, dict[str, int]]:
    """The job's entry: take both leases first, so a move that cannot start leaves no
    unfinished ``RouteMove`` behind (which would hold off both integrations' runs)."""
    with _leases(_integration(source_id, "source"), _integration(target_id, "target")) as held:
        move = start(source_id, target_id, route_ids, swap, actor, tuple(lease.owner for lease in held))
        if move.status == RouteMove.Status.DONE:
            return move, dict(move.counts.get("moved", {}))
        return move, _carry_out(move, held, progress or (lambda done, total: None))


@contextmanager
def _leases(*integrations: Integration) -> Iterator[list[leases.RunLease]]:
    held: list[leases.RunLease] = []
    try:
        for integration in integrations:
            lease = leases.RunLease.acquire(integration.pk)
            if lease is None:
                raise MoveRefused(f"Integration '{integration.name}' is processing right now; the move waits for "
                                  "no run. Run the same move again when that run has ended.")
            lease.start()
            held.append(lease)
        yield held
    finally:
        for lease in held:
            lease.stop()
            leases.release_run(lease.integration_id, lease.owner)


def _carry_out(move: RouteMove, held: list[leases.RunLease], progress: Callable[[int, int], None]) -> dict[str, int]:
    source = Integration.objects.select_related("left_collection__connection", "right_collection__connection").get(
        pk=move.source_id)
    target = Integration.objects.select_related("left_collection__connection", "right_collection__connection").get(
        pk=move.target_id)
    routes = list(Route.objects.filter(pk__in=move.routes).order_by("pk"))
    moved = dict(move.counts.get("moved", {}))
    total = int(move.counts.get("pairs", 0)) + int(move.counts.get("pending", 0)) + len(routes)
    done = sum(moved.values())

    def note(kind: str, n: int) -> None:
        nonlocal done
        moved[kind] = moved.get(kind, 0) + n
        done += n
        RouteMove.objects.filter(pk=move.pk).update(counts={**move.counts, "moved": moved})
        progress(done, max(total, done))

    pending_route_ids = [x.pk for x in routes if x.integration_id == source.pk]
    while pending_route_ids:
        with transaction.atomic():
            for lease in held:
                lease.fence()
            pairs = list(ArtifactPair.objects.select_for_update().filter(
                integration=source, route_id__in=pending_route_ids).order_by("pk")[:batch_size()])
            if not pairs:
                break
            _move_pairs(source, target, pairs, move.swap)
            note("pairs", len(pairs))
    on_source = [x for x in routes if x.integration_id == source.pk]
    while on_source:
        with transaction.atomic():
            for lease in held:
                lease.fence()
            rows = list(_pending_on_source(source.pk, on_source).select_for_update().order_by("pk")[:batch_size()])
            if not rows:
                break
            _move_pending(source, target, rows, move.swap)
            note("pending", len(rows))
    with transaction.atomic():
        for lease in held:
            lease.fence()
        projects = _routed_projects(on_source)
        for side in SIDES:
            tside = _mapped_side(side, move.swap)
            cursors = ChangeCursor.objects.filter(integration=source, side=side, project__in=projects[side])
            # The target does not route these projects (review), so a cursor it kept is stale.
            ChangeCursor.objects.filter(integration=target, side=tside, project__in=projects[side]).delete()
            cursors.update(integration=target, side=tside)
        for route in on_source:
            former = [{"integration": f["integration"], "swapped": bool(f.get("swapped")) != move.swap}
                      for f in route.former if f.get("integration") != target.pk]
            route.former = [*former, {"integration": source.pk, "swapped": move.swap}]
            route.integration = target
            if move.swap:
                route.left_project, route.right_project = route.right_project, route.left_project
            route.save(update_fields=["integration", "former", "left_project", "right_project"])
        moved["routes"] = moved.get("routes", 0) + len(on_source)
        RouteMove.objects.filter(pk=move.pk).update(status=RouteMove.Status.DONE, finished_at=timezone.now(),
                                                    counts={**move.counts, "moved": moved})
        SyncState.objects.filter(integration_id__in=[source.pk, target.pk]).update(run_now=True)
        record_audit(None, "route.move.finish", f"routemove:{move.pk}", from_integration=source.name,
                     to_integration=target.name, moved=moved)
    progress(total, total)
    return moved


def _move_pairs(source: Integration, target: Integration, pairs: list[ArtifactPair], swap: bool) -> None:
    labels = _error_labels(source, target, swap, [(p.left_id, p.right_id) for p in pairs], [])
    if swap:
        for p in pairs:
            p.left_id, p.right_id = p.right_id, p.left_id
            p.left_version, p.right_version = p.right_version, p.left_version
            base = p.base or {}
            p.base = {"left": base.get("right", {}), "right": base.get("left", {})}
            p.integration = target
        ArtifactPair.objects.bulk_update(
            pairs, ["integration", "left_id", "right_id", "left_version", "right_version", "base"])
    else:
        ArtifactPair.objects.filter(pk__in=[p.pk for p in pairs]).update(integration=target)
    activity.move_errors(source.pk, target.pk, target.name, labels)


def _move_pending(source: Integration, target: Integration, rows: list[PendingWork], swap: bool) -> None:
    keys = [(r.side, r.artifact_id) for r in rows]
    for side in SIDES:
        ids = [a for s, a in keys if s == side]
        CreateIntent.objects.filter(integration=source, side=side, artifact_id__in=ids).update(
            integration=target, side=_mapped_side(side, swap))
        base_swap = CreateIntent.objects.filter(integration=target, side=_mapped_side(side, swap), artifact_id__in=ids)
        if swap:
            for intent in base_swap:
                intent.base = {"left": intent.base.get("right", {}), "right": intent.base.get("left", {})}
                intent.save(update_fields=["base"])
        PendingWork.objects.filter(pk__in=[r.pk for r in rows if r.side == side]).update(
            integration=target, side=_mapped_side(side, swap))
    activity.move_errors(source.pk, target.pk, target.name, _error_labels(source, target, swap, [], keys))
