"""One run of one integration: take its lease, detect changes, process pending work.

Nothing happens while the processing gate is closed (no license, vault locked, no database
lease) or the integration is stopped; a failing connection raises one issue and backs off.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

from django.db import close_old_connections
from django.db.models import F, Q

from integrations.connectors.base import ConnectorError
from integrations.engine import clock, connections, context, detection, gateway, leases, processing
from integrations.engine.models import SyncState
from integrations.engine.validation import (
    cached_live_problems,
    config_problems,
    raise_config_issue,
    resolve_config_issue,
)
from integrations.models import Integration, RouteMove
from tasktop_hub.conditions import processing_blocked_reason

log = logging.getLogger(__name__)

RUN_BUDGET_SECONDS = 240.0  # a run yields after this long, so other integrations get their turn


def run_integration(integration_id: int, *, factory: context.ConnectorFactory | None = None,
                    budget: float = RUN_BUDGET_SECONDS) -> dict:
    """Run change detection and processing once. Returns a summary (also stored on SyncState)."""
    reason = processing_blocked_reason()
    if reason:
        return {"skipped": reason}
    integration = (Integration.objects.select_related("left_collection__connection", "right_collection__connection")
                   .filter(pk=integration_id).first())
    if integration is None or not integration.is_running:
        return {"skipped": "not running"}
    lease = leases.RunLease.acquire(integration_id)
    if lease is None:
        return {"skipped": "another run holds the lease"}
    log.info("Run of integration %s started (lease %s)", integration_id, lease.owner)
    lease.start()
    summary: dict = {}
    try:
        summary = _run(integration, lease, factory, budget)
    except leases.LeaseLost as exc:
        # Another run may be writing now: this one stopped before its next write and
        # committed nothing since its last fenced commit. Its pending work stays for the next run.
        log.warning("Run of integration %s stopped: %s", integration_id, exc)
        summary = {"stopped": str(exc)}
    finally:
        lease.stop()
        log.info("Run of integration %s ended (lease %s)", integration_id, lease.owner)  # before the next can start
        leases.release_run(integration_id, lease.owner, last_run_finished=clock.now(), last_result=summary)
        close_old_connections()
    return summary


def _run(integration: Integration, lease: leases.RunLease, factory, budget: float) -> dict:  # noqa: ANN001
    # The gate again, under the lease: a database transfer that paused the hub between the first
    # check and the lease may have looked for runs in flight (its drain) before this one held it.
    reason = processing_blocked_reason()
    if reason:
        return {"skipped": reason}
    # Checked under the lease: a route move holds both leases while it runs, and a move that was
    # killed half way leaves pairs on both sides of it, which no run may touch until it is resumed.
    moving = RouteMove.objects.filter(status=RouteMove.Status.MOVING).filter(
        Q(source_id=integration.pk) | Q(target_id=integration.pk)).first()
    if moving is not None:
        return {"skipped": f"the route move #{moving.pk} is unfinished; run it again to finish it"}
    problems = config_problems(integration, live=False) or cached_live_problems(integration)
    if problems:
        raise_config_issue(integration, problems)
        return {"skipped": "configuration", "problems": problems}
    resolve_config_issue(integration)
    conns = [integration.left_collection.connection, integration.right_collection.connection]
    if any(connections.backed_off(c) for c in conns):
        return {"skipped": "connection backing off"}
    ctx = context.load(integration, factory)
    ctx.lease = lease
    started = clock.monotonic()
    stats = processing.BatchStats()
    try:
        state = SyncState.objects.get(integration=integration)
        full = state.process_all_requested
        SyncState.objects.filter(pk=state.pk).update(run_now=False)
        detected = detection.detect(ctx, full=full)
        log.info("Run of integration %s: %d changes detected in %.1f s", integration.pk, detected,
                 clock.monotonic() - started)
        if full:
            SyncState.objects.filter(pk=state.pk).update(process_all_requested=False)
        for c in conns:
            connections.record_success(c)
        with ThreadPoolExecutor(max_workers=ctx.max_concurrency, thread_name_prefix=f"sync-{integration.pk}") as pool:
            while clock.monotonic() - started < budget:
                gateway.take_deliveries(ctx)  # a gateway collection's POSTs become pending work
                rows = processing.ready_rows(integration.pk)
                if not rows:
                    break
                batch = processing.process_batch(ctx, rows, pool)
                stats.add(batch)
                log.info("Run of integration %s: %d processed (%d created, %d updated) after %.1f s", integration.pk,
                         batch.processed, batch.created, batch.updated, clock.monotonic() - started)
                lease.check()
    except processing.ConnectionDown as down:
        connections.record_failure(ctx.sides[down.side].connection, down.exc)
        return {"failed": str(down.exc)}
    except ConnectorError as exc:
        if connections.is_connection_failure(exc):
            side = getattr(exc, "side", None)
            failing = ctx.sides[side].connection if side else _guess_failing(ctx, exc)
            connections.record_failure(failing, exc)
        else:
            log.warning("Run of integration %s stopped by a tool error: %s", integration.pk, exc)
        return {"failed": str(exc)}
    finally:
        ctx.close()
    result = {"detected": detected, **asdict(stats)}
    result.pop("extra", None)
    SyncState.objects.filter(integration=integration).update(runs=F("runs") + 1)
    return result


def _guess_failing(ctx: context.RunContext, exc: ConnectorError):  # noqa: ANN202
    # Detection calls are per side; find which connector answers at all.
    for side in ("left", "right"):
        try:
            ctx.sides[side].connector.projects()
        except ConnectorError:
            return ctx.sides[side].connection
    return ctx.sides["left"].connection
