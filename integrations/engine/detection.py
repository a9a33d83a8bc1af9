"""Change detection: per routed project of each side, read what changed since the cursor and
record it as durable pending work, advancing the cursor in the same transaction.

The cursor is (last timestamp, versions seen within the overlap window before it). Each run
re-reads from ``last_ts - overlap`` with keyset paging, so an artifact written with a
slightly late timestamp is still caught, and skips what it has already seen at the same
version, so nothing is recorded twice. Artifacts whose version is the one the hub itself
wrote (stored on the pair) are the hub's own echo and are skipped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection as db
from django.db import transaction

from integrations.connectors.base import ArtifactData, ConnectorError
from integrations.engine import clock, templates
from integrations.engine.context import RunContext, with_retries
from integrations.engine.models import ChangeCursor, PendingWork
from integrations.models import ArtifactPair

PAGE_LIMIT = 100
FLUSH_AT = 1000


def detect(ctx: RunContext, *, full: bool = False, only: dict[str, list[str]] | None = None) -> int:
    """Scan every routed project (or ``only`` {side: projects}); returns pending rows recorded."""
    recorded = 0
    for side in ("left", "right"):
        if not templates.is_source(ctx.integration, side):
            continue  # a one-way template never takes anything from that side
        projects = list(ctx.routed(side)) if only is None else [p for p in only.get(side, []) if p in ctx.routed(side)]
        for project in projects:
            recorded += scan_scope(ctx, side, project, full=full)
    return recorded


def scan_scope(ctx: RunContext, side: str, project: str, *, full: bool = False) -> int:
    connector = ctx.sides[side].connector
    cursor, _ = ChangeCursor.objects.get_or_create(integration=ctx.integration, side=side, project=project)
    # A connector may need more than the engine's overlap (Jira: its search index lags).
    tool_overlap = getattr(connector, "detection_overlap", None)
    overlap = timedelta(seconds=max(ctx.overlap_seconds, float(tool_overlap() if tool_overlap else 0.0)))
    last_ts: datetime | None = None if full else cursor.last_ts
    since = None if last_ts is None else last_ts - overlap
    seen: dict[str, list] = {} if full else dict(cursor.seen or {})
    after = None
    recorded = 0
    limit = max(PAGE_LIMIT, getattr(connector, "page_size", PAGE_LIMIT))
    pending: list[ArtifactData] = []
    while True:
        try:
            page = with_retries(partial(connector.changes_after, project, since, after, limit))
        except ConnectorError as exc:
            exc.side = side  # which connection failed
            raise
        fresh = [a for a in page.artifacts if (seen.get(a.id) or [None])[0] != a.change_version]
        work = _not_echo(ctx, side, fresh)
        for a in page.artifacts:
            seen[a.id] = [a.change_version, a.updated_at.timestamp()]
            if last_ts is None or a.updated_at > last_ts:
                last_ts = a.updated_at
        if last_ts is not None:
            floor = (last_ts - overlap).timestamp()
            seen = {k: v for k, v in seen.items() if v[1] >= floor}
        pending += work
        if page.done or len(pending) >= FLUSH_AT or not page.artifacts:
            # Detected work and the cursor that covers it commit together (a few pages at a time).
            with transaction.atomic():
                ctx.fence()  # a run whose lease was taken over advances no cursor
                record(ctx.integration.pk, side, [(a.id, a.project) for a in pending])
                ChangeCursor.objects.filter(pk=cursor.pk).update(last_ts=last_ts, seen=seen)
            recorded += len(pending)
            pending = []
        if page.artifacts:
            after = (page.artifacts[-1].updated_at, page.artifacts[-1].id)
        if page.done:
            return recorded


def _not_echo(ctx: RunContext, side: str, artifacts: list[ArtifactData]) -> list[ArtifactData]:
    if not artifacts:
        return []
    ids = [a.id for a in artifacts]
    known = dict(ArtifactPair.objects.filter(integration=ctx.integration, **{f"{side}_id__in": ids})
                 .values_list(f"{side}_id", f"{side}_version"))
    return [a for a in artifacts if known.get(a.id) != a.change_version]


def record(integration_id: int, side: str, items: list[tuple[str, str]]) -> None:
    """Upsert pending rows: a re-detected artifact becomes ready again with a new detected_at."""
    if not items:
        return
    now = clock.now()
    if db.vendor in ("sqlite", "postgresql"):
        _upsert(integration_id, side, dict(items), now)
        return
    rows = [PendingWork(integration_id=integration_id, side=side, artifact_id=i, project=p, detected_at=now,
                        status=PendingWork.Status.READY) for i, p in dict(items).items()]
    kwargs: dict[str, Any] = {}
    if db.features.supports_update_conflicts_with_target:
        kwargs["unique_fields"] = ["integration", "side", "artifact_id"]
    PendingWork.objects.bulk_create(
        rows, update_conflicts=True, update_fields=["status", "detected_at", "not_before", "attempts", "project"],
        batch_size=500, **kwargs,
    )


def _upsert(integration_id: int, side: str, items: dict[str, str], now) -> None:  # noqa: ANN001
    """The same upsert as one prepared statement executed many times (Django's bulk_create
    prepared every value through the ORM and dominated detection's cost)."""
    meta = PendingWork._meta
    q = db.ops.quote_name
    stamp = meta.get_field("detected_at").get_db_prep_save(now, db)
    sql = (
        f"INSERT INTO {q(meta.db_table)} ({q('integration_id')}, {q('side')}, {q('artifact_id')}, {q('project')}, "
        f"{q('status')}, {q('detected_at')}, {q('not_before')}, {q('attempts')}, {q('last_error')}) "
        f"VALUES (%s, %s, %s, %s, %s, %s, NULL, 0, '') "
        f"ON CONFLICT ({q('integration_id')}, {q('side')}, {q('artifact_id')}) DO UPDATE SET "
        f"{q('status')} = excluded.{q('status')}, {q('detected_at')} = excluded.{q('detected_at')}, "
        f"{q('not_before')} = NULL, {q('attempts')} = 0, {q('project')} = excluded.{q('project')}"
    )
    ready = PendingWork.Status.READY.value
    with db.cursor() as cursor:
        cursor.executemany(sql, [(integration_id, side, i, p, ready, stamp) for i, p in items.items()])
