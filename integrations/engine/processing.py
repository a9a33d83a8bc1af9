"""Pending work → processed pairs, one batch at a time.

A batch: load ready rows, load their pairs, read every artifact involved with batched
``read()`` calls, group rows into units (one per pair, so two threads never touch one
artifact), run the units on a pool of *max concurrency* threads (the only place remote
writes happen), then commit every outcome in one transaction. A crash anywhere leaves the
pending rows in place; re-processing is idempotent (values already equal are not written,
and a creation finds its earlier twin by hub key).
"""

from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.db import connection as db
from django.db.models import F, Q

from integrations.connectors.base import ArtifactData, ConnectorError
from integrations.engine import clock, creation, detection
from integrations.engine.context import RunContext, other, with_retries
from integrations.engine.models import PendingWork
from integrations.engine.reconcile import Outcome, Unit, run_unit
from integrations.models import ArtifactPair
from notifications import services as activity
from notifications.models import ActivityError

log = logging.getLogger(__name__)

BATCH_SIZE = 2000
COMMIT_EVERY = 200  # outcomes are committed while the rest of the batch is still in flight
ERROR_CATEGORY = "sync"
MAX_BACKOFF = 300.0
REPORT_TRANSIENT_AFTER = 8  # attempts; it keeps retrying, but a person should know


class ConnectionDown(Exception):
    def __init__(self, side: str, exc: ConnectorError) -> None:
        super().__init__(str(exc))
        self.side, self.exc = side, exc


@dataclass
class BatchStats:
    processed: int = 0
    created: int = 0
    updated: int = 0
    dropped: int = 0
    errors: int = 0
    retrying: int = 0
    writes: int = 0
    extra: dict = field(default_factory=dict)

    def add(self, other_stats: BatchStats) -> None:
        for name in ("processed", "created", "updated", "dropped", "errors", "retrying", "writes"):
            setattr(self, name, getattr(self, name) + getattr(other_stats, name))


def ready_rows(integration_id: int, limit: int = BATCH_SIZE) -> list[PendingWork]:
    now = clock.now()
    return list(
        PendingWork.objects.filter(integration_id=integration_id, status=PendingWork.Status.READY)
        .filter(Q(not_before__isnull=True) | Q(not_before__lte=now))
        .order_by("detected_at", "pk")[:limit]
    )


def process_batch(ctx: RunContext, rows: list[PendingWork], pool: ThreadPoolExecutor) -> BatchStats:
    loaded_at = clock.now()
    ids = {s: {r.artifact_id for r in rows if r.side == s} for s in ("left", "right")}
    pairs: dict[str, dict[str, ArtifactPair]] = {s: {} for s in ("left", "right")}
    qs = ArtifactPair.objects.filter(integration=ctx.integration).filter(
        Q(left_id__in=ids["left"]) | Q(right_id__in=ids["right"]))
    for p in qs:
        pairs["left"][p.left_id], pairs["right"][p.right_id] = p, p
    need = {s: set(ids[s]) for s in ids}
    for p in {id(p): p for d in pairs.values() for p in d.values()}.values():
        need["left"].add(p.left_id)
        need["right"].add(p.right_id)
    data = read_all(ctx, need, pool)
    # A new artifact stamped with our hub key is the twin of its source: read that source too.
    extra: dict[str, set[str]] = {"left": set(), "right": set()}
    for r in rows:
        art = data[r.side].get(r.artifact_id)
        ref = ctx.parse_hub_key(art.hub_key) if art and r.artifact_id not in pairs[r.side] else None
        if ref and ref[0] == other(r.side) and ref[1] not in data[ref[0]]:
            extra[ref[0]].add(ref[1])
    if extra["left"] or extra["right"]:
        more = read_all(ctx, extra, pool)
        for s in more:
            data[s].update(more[s])
    units = build_units(ctx, rows, pairs, data)
    creation.prepare(ctx, list(units.values()), data, pool)  # durable intents before any remote create
    futures = [pool.submit(run_unit, ctx, u, data) for u in units.values()]
    stats, buffer = BatchStats(), []
    try:
        # Commit in chunks as units finish: the hub's database work overlaps the remote calls
        # still in flight instead of waiting for the slowest unit of the batch.
        for future in as_completed(futures):
            buffer.append(future.result())
            if len(buffer) >= COMMIT_EVERY:
                stats.add(commit(ctx, buffer, loaded_at))
                buffer = []
        if buffer:
            stats.add(commit(ctx, buffer, loaded_at))
    except BaseException:  # ConnectionDown, LeaseLost, or the process being stopped
        for f in futures:
            f.cancel()  # not started: left pending; started ones are idempotent when redone
        raise
    return stats


def read_all(ctx: RunContext, ids: dict[str, set[str]], pool: ThreadPoolExecutor) -> dict[str, dict[str, ArtifactData]]:
    jobs = []
    for side, wanted_ids in ids.items():
        connector = ctx.sides[side].connector
        wanted = sorted(wanted_ids)
        size = max(1, getattr(connector, "page_size", 100))
        for start in range(0, len(wanted), size):
            chunk = wanted[start:start + size]
            jobs.append((side, chunk, pool.submit(with_retries, partial(connector.read, chunk))))
    out: dict[str, dict[str, ArtifactData]] = {"left": {}, "right": {}}
    for side, chunk, future in jobs:
        try:
            for art in future.result():
                out[side][art.id] = art
            # An artifact missing from a batch answer is taken for deleted (its change is dropped),
            # so ask for it on its own first: a tool's batch can come back short (Jira's pages).
            if len(chunk) > 1:
                for artifact_id in [i for i in chunk if i not in out[side]]:
                    for art in with_retries(partial(ctx.sides[side].connector.read, [artifact_id])):
                        out[side][art.id] = art
        except ConnectorError as exc:
            if exc.auth or exc.unreachable:
                raise ConnectionDown(side, exc) from None
            raise
    return out


def build_units(ctx: RunContext, rows: list[PendingWork], pairs: dict, data: dict) -> dict[str, Unit]:
    units: dict[str, Unit] = {}
    for r in rows:
        pair = pairs[r.side].get(r.artifact_id)
        if pair is not None:
            unit = units.setdefault(f"pair:{pair.pk}", Unit(key=f"pair:{pair.pk}", pair=pair))
        else:
            art = data[r.side].get(r.artifact_id)
            ref = ctx.parse_hub_key(art.hub_key) if art else None
            if ref and ref[0] == other(r.side):
                key = f"{ref[0]}:{ref[1]}"
                unit = units.setdefault(key, Unit(key=key, source_side=ref[0], source_id=ref[1]))
                unit.twin = art
            else:
                key = f"{r.side}:{r.artifact_id}"
                unit = units.setdefault(key, Unit(key=key, source_side=r.side, source_id=r.artifact_id))
        unit.rows.append(r)
    return units


def unit_label(ctx: RunContext, unit: Unit) -> str:
    """The Activity name of a unit: its left artifact (or its source), stable across sides."""
    if unit.pair is not None:
        return f"{ctx.sides['left'].connection.name}:{unit.pair.left_id}"
    return f"{ctx.sides[unit.source_side].connection.name}:{unit.source_id}"


def commit(ctx: RunContext, outcomes: list[Outcome], loaded_at) -> BatchStats:  # noqa: ANN001
    stats = BatchStats()
    down: ConnectionDown | None = None
    done: list[Outcome] = []
    new_pairs: list[ArtifactPair] = []
    changed_pairs: list[ArtifactPair] = []
    failed: list[Outcome] = []
    retry: list[Outcome] = []
    stale: list[Outcome] = []
    new_outcomes: list[Outcome] = []
    for o in outcomes:
        if o.connection_failure:
            down = down or ConnectionDown(*o.connection_failure)
        elif o.stale:
            stale.append(o)
        elif o.transient:
            retry.append(o)
        elif o.error:
            failed.append(o)
        else:
            done.append(o)
            if o.pair is not None:
                (new_pairs if o.pair.pk is None else changed_pairs).append(o.pair)
                if o.pair.pk is None:
                    new_outcomes.append(o)
    live = set(ActivityError.objects.filter(
        integration_id=ctx.integration.pk, status__in=(ActivityError.Status.OPEN, ActivityError.Status.RETRYING)
    ).values_list("artifact", flat=True))
    now = clock.now()
    with transaction.atomic():
        ctx.fence()  # only under the run's lease: a run taken over commits nothing
        _save_new_pairs(new_pairs)
        creation.forget(ctx, [o.unit for o in new_outcomes])
        for p in changed_pairs:
            p.updated_at = now
        _update_pairs(changed_pairs)
        finished = [r.pk for o in done for r in o.unit.rows]
        for start in range(0, len(finished), 500):
            # Only rows nobody re-detected meanwhile: a newer change keeps its row.
            PendingWork.objects.filter(pk__in=finished[start:start + 500], detected_at__lte=loaded_at).delete()
        _drop_blocked(ctx, [o.pair for o in done if o.pair is not None])
        for o in done:
            label = unit_label(ctx, o.unit)
            if label in live:
                activity.resolve_errors(artifact=label, integration_id=ctx.integration.pk)
        for o in failed:
            activity.record_error(artifact=unit_label(ctx, o.unit), message=o.error, integration_id=ctx.integration.pk,
                                  integration_name=ctx.integration.name, category=ERROR_CATEGORY)
            PendingWork.objects.filter(pk__in=[r.pk for r in o.unit.rows]).update(
                status=PendingWork.Status.BLOCKED, last_error=o.error[:2000])
        for o in retry:
            _back_off(ctx, o)
        for o in stale:
            _again(ctx, o)
        for side in ("left", "right"):
            # Read back with someone else's edit in it: detected again now, not taken for an echo.
            detection.record(ctx.integration.pk, side,
                             [(i, p) for o in done for s, i, p in o.recheck if s == side])
    stats.processed = len(outcomes)
    stats.created = sum(1 for o in done if o.created)
    stats.updated = sum(1 for o in done if o.writes and not o.created)
    stats.dropped = sum(1 for o in done if o.dropped)
    stats.writes = sum(o.writes for o in done)
    stats.errors, stats.retrying = len(failed), len(retry)
    if down is not None:
        raise down
    return stats


def _update_pairs(pairs: list[ArtifactPair]) -> None:
    """One prepared UPDATE executed many times: Django's bulk_update builds CASE expressions
    whose cost dominated the hub's CPU per artifact."""
    if not pairs:
        return
    meta = ArtifactPair._meta
    base, stamp = meta.get_field("base"), meta.get_field("updated_at")
    q = db.ops.quote_name
    sql = (f"UPDATE {q(meta.db_table)} SET {q('base')} = %s, {q('left_version')} = %s, {q('right_version')} = %s, "
           f"{q('establish_base')} = %s, {q('updated_at')} = %s WHERE {q('id')} = %s")
    with db.cursor() as cursor:
        cursor.executemany(sql, [
            (base.get_db_prep_value(p.base, db), p.left_version, p.right_version, p.establish_base,
             stamp.get_db_prep_value(p.updated_at, db), p.pk)
            for p in pairs
        ])


def _save_new_pairs(pairs: list[ArtifactPair]) -> None:
    try:
        with transaction.atomic():
            ArtifactPair.objects.bulk_create(pairs, batch_size=500)
    except IntegrityError:
        # Someone (a pair import, a second process) recorded one already: keep theirs.
        for p in pairs:
            try:
                with transaction.atomic():
                    p.pk = None
                    p.save()
            except IntegrityError:
                log.info("Pair %s/%s exists already", p.left_id, p.right_id)


def _drop_blocked(ctx: RunContext, pairs: list[ArtifactPair]) -> None:
    """A pair processed without error has nothing left blocked: its artifacts' blocked rows (an
    earlier attempt's error, e.g. on the other side's row) go, rather than stay stale."""
    for side in ("left", "right"):
        ids = [getattr(p, f"{side}_id") for p in pairs]
        for start in range(0, len(ids), 500):
            PendingWork.objects.filter(integration_id=ctx.integration.pk, side=side, status=PendingWork.Status.BLOCKED,
                                       artifact_id__in=ids[start:start + 500]).delete()


STALE_RETRIES_AT_ONCE = 3


def _again(ctx: RunContext, outcome: Outcome) -> None:
    """A write refused because the artifact changed after it was read: read it again and
    decide afresh, at once (a few times; then with backoff, should someone edit non-stop)."""
    rows = outcome.unit.rows
    if max(r.attempts for r in rows) + 1 >= STALE_RETRIES_AT_ONCE:
        outcome.transient = ConnectorError(outcome.stale, transient=True)
        _back_off(ctx, outcome)
        return
    PendingWork.objects.filter(pk__in=[r.pk for r in rows]).update(
        attempts=F("attempts") + 1, not_before=None, detected_at=clock.now(), last_error=outcome.stale[:2000])


def _back_off(ctx: RunContext, outcome: Outcome) -> None:
    rows = outcome.unit.rows
    attempts = max(r.attempts for r in rows) + 1
    delay = min(MAX_BACKOFF, 2.0 * 2 ** (attempts - 1)) * random.uniform(0.5, 1.5)  # noqa: S311 — jitter
    if outcome.transient and outcome.transient.retry_after:
        delay = max(delay, float(outcome.transient.retry_after))
    PendingWork.objects.filter(pk__in=[r.pk for r in rows]).update(
        attempts=attempts, not_before=clock.now() + timedelta(seconds=delay), last_error=str(outcome.transient)[:2000])
    if attempts == REPORT_TRANSIENT_AFTER:
        activity.record_error(
            artifact=unit_label(ctx, outcome.unit), integration_id=ctx.integration.pk,
            integration_name=ctx.integration.name, category=ERROR_CATEGORY,
            message=f"Still failing after {attempts} attempts (retrying with backoff): {outcome.transient}",
        )
