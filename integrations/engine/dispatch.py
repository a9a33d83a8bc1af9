"""When runs are due, and the dispatcher loop that starts them.

django-q2's scheduler wakes only about every 30 s, so it cannot honour a 10 s interval. One
django-q2 schedule (every minute) and every worker start enqueue :func:`dispatcher_loop`; the
first to take the named lease loops for ``LOOP_SECONDS``, checking twice a second which
integrations are due, then hands over to a successor task. The others exit at once. A run is
due when ``last_run_started + effective interval <= now`` (read fresh on every pass, so an
interval change applies at the next run), or when a run was requested now. A running
integration (lease held) is never enqueued again: a due run starts after it.

Killed workers: a run enqueued but not started within ``RETRY_AFTER_SECONDS`` is enqueued
again — its worker may have died after taking the task and before the run took its lease, and
the broker would redeliver it only after its ``retry`` (an hour) — unless its task still waits
unclaimed in the queue (all workers busy: another copy would only pile up). A run killed while
holding its lease (never finished) is due again ``RETRY_AFTER_SECONDS`` after it started, once
its lease is free, instead of an interval later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import close_old_connections

from integrations.engine import clock, leases
from integrations.engine.models import SyncState
from integrations.models import Integration
from settings_app.hublog import levels
from settings_app.services import effective_settings, get_settings
from tasktop_hub import shutdown
from tasktop_hub.conditions import handed_over_reason, processing_blocked_reason

log = logging.getLogger(__name__)

DISPATCHER = "engine-dispatcher"
PASS_SECONDS = 0.5
LOOP_SECONDS = 50.0
LEASE_SECONDS = 10.0
RETRY_AFTER_SECONDS = 5.0  # a killed run (or its lost task) is retried after this

Enqueue = Callable[[int], None]
Waiting = Callable[[list[int]], set[int]]
OVERDUE = "overdue"


def _none_waiting(integration_ids: list[int]) -> set[int]:
    return set()


def dispatch_once(enqueue_run: Enqueue, enqueue_scan: Enqueue, waiting: Waiting = _none_waiting) -> list[int]:
    """One pass: enqueue every due run and full scan. Returns the integrations enqueued.

    ``waiting(ids)`` answers, of integrations whose enqueued run is overdue, those whose run task
    still waits in the queue unclaimed by any worker (see :func:`integrations.tasks.run_waiting`);
    it is asked at most once per pass."""
    if processing_blocked_reason():
        return []
    now = clock.now()
    hub = get_settings()
    due, overdue = [], []
    integrations = Integration.objects.filter(run_state=Integration.RunState.RUNNING).select_related(
        "left_collection__connection", "right_collection__connection")
    states = {s.integration_id: s for s in SyncState.objects.filter(integration__in=integrations)}
    for integration in integrations:
        state = states.get(integration.pk) or SyncState.objects.get_or_create(integration=integration)[0]
        eff = effective_settings(integration, hub)
        verdict = _run_due(state, eff.change_detection_interval, now)
        if verdict:
            (overdue if verdict == OVERDUE else due).append(state)
        if eff.full_scan_interval:
            if state.last_full_scan is None:
                # The first full scan comes one interval after the integration first ran.
                SyncState.objects.filter(pk=state.pk).update(last_full_scan=now)
            elif state.last_full_scan + timedelta(seconds=eff.full_scan_interval) <= now:
                SyncState.objects.filter(pk=state.pk).update(last_full_scan=now)
                enqueue_scan(integration.pk)
    if overdue:
        # Not started in time: its task is lost (worker killed), unless it still waits its turn.
        still = waiting([s.integration_id for s in overdue])
        due += [s for s in overdue if s.integration_id not in still]
    for state in due:
        SyncState.objects.filter(pk=state.pk).update(last_enqueued=now)
        enqueue_run(state.integration_id)
    return [s.integration_id for s in due]


def _run_due(state: SyncState, interval: int, now) -> bool | str:  # noqa: ANN001
    if state.lease_owner and state.lease_expires and state.lease_expires > now \
            and not leases.holder_dead(state.lease_owner):
        return False  # running now; never overlap
    retry_after = timedelta(seconds=RETRY_AFTER_SECONDS)
    if state.last_enqueued and (state.last_run_started is None or state.last_enqueued > state.last_run_started):
        if now - state.last_enqueued < retry_after:
            return False  # enqueued, a worker is about to start it
        return OVERDUE
    if state.run_now or state.last_run_started is None:
        return True
    if state.last_run_finished is None or state.last_run_finished < state.last_run_started:
        # The last run never finished (its worker was killed; the lease is free): its work is
        # retried a few seconds after it started, not an interval later — under repeated kills
        # an interval's wait would leave no time to make progress.
        return now - state.last_run_started >= retry_after
    return state.last_run_started + timedelta(seconds=interval) <= now


def dispatcher_loop(enqueue_run: Enqueue, enqueue_scan: Enqueue, seconds: float = LOOP_SECONDS,
                    waiting: Waiting = _none_waiting) -> bool:
    """Loop for ``seconds`` if this process wins the dispatcher lease. Returns whether it did.

    An installation that lost the instance lease (another one processes on this database) neither
    takes the dispatcher lease nor keeps it: its loop ends within a pass, so the holder's
    dispatcher (kicked by its worker start or its every-minute schedule) gets the lease."""
    if handed_over_reason():
        return False
    owner = leases.new_owner()
    if not leases.acquire_named(DISPATCHER, owner, LEASE_SECONDS):
        return False
    end = clock.monotonic() + seconds
    try:
        while clock.monotonic() < end:
            if shutdown.requested():
                log.info("The worker cluster is stopping; the dispatcher loop ends its turn.")
                return True
            handed_over = handed_over_reason()
            if handed_over:
                log.info("The dispatcher loop ends and hands over: %s", handed_over)
                return False  # no successor: this installation no longer processes here
            if not leases.acquire_named(DISPATCHER, owner, LEASE_SECONDS):
                log.warning("Dispatcher lease lost; stopping this loop.")
                return True
            try:
                # This task lives for a whole loop: follow a logging-level change within seconds
                # (throttled, one read every few seconds), not only at the next task's start.
                levels.refresh()
                dispatch_once(enqueue_run, enqueue_scan, waiting)
            except Exception:  # the loop outlives one bad pass (e.g. DB hiccup); logged below
                log.exception("Dispatcher pass failed")
                close_old_connections()
            clock.sleep(PASS_SECONDS)
    finally:
        leases.release_named(DISPATCHER, owner)
    return True
