"""Scheduling on a controllable clock: observed intervals between runs, no overlap, interval
changes applied at the next run, and the dispatcher lease."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integrations.engine import clock, dispatch, leases
from integrations.engine.models import SyncState


class SimClock:
    def __init__(self) -> None:
        self.t = datetime(2026, 6, 1, 12, 0, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += timedelta(seconds=seconds)


@pytest.fixture
def sim():
    c = SimClock()
    clock.set_clock(c.now, c.advance)
    yield c
    clock.reset_clock()


def simulate(rig, sim, seconds: float, run_seconds: float = 1.5, pickup: float = 0.7) -> list[datetime]:
    """Passes every 0.5 s; an enqueued run starts after ``pickup`` and lasts ``run_seconds``."""
    queue: list[tuple[datetime, int]] = []
    running: tuple[datetime, str] | None = None
    starts = []
    end = sim.t + timedelta(seconds=seconds)
    while sim.t < end:
        dispatch.dispatch_once(lambda i: queue.append((sim.t + timedelta(seconds=pickup), i)), lambda i: None)
        if running and sim.t >= running[0]:
            leases.release_run(rig.integration.pk, running[1], last_run_finished=sim.t)  # as the runner does
            running = None
        if queue and sim.t >= queue[0][0] and running is None:
            _, integration_id = queue.pop(0)
            owner = leases.new_owner()
            if leases.acquire_run(integration_id, owner):
                starts.append(sim.t)
                running = (sim.t + timedelta(seconds=run_seconds), owner)
        sim.advance(dispatch.PASS_SECONDS)
    return starts


def intervals(starts: list[datetime]) -> list[float]:
    return [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]


@pytest.mark.parametrize("interval", [10, 30, 120])
def test_observed_interval_within_ten_percent_or_five_seconds(rig, sim, interval):
    rig.integration.change_detection_interval = interval
    rig.integration.save()
    starts = simulate(rig, sim, interval * 7)
    observed = intervals(starts)
    assert len(observed) >= 6
    tolerance = max(0.1 * interval, 5)
    assert all(abs(o - interval) <= tolerance for o in observed), observed


def test_runs_never_overlap_and_a_due_run_starts_after_a_long_one(rig, sim):
    rig.integration.change_detection_interval = 10
    rig.integration.save()
    starts = simulate(rig, sim, 120, run_seconds=25)
    gaps = intervals(starts)
    assert gaps and all(g >= 25 for g in gaps)  # never while the previous run held the lease
    assert all(g <= 27 for g in gaps)  # …and right after it


def test_interval_change_applies_at_the_next_run(rig, sim):
    rig.integration.change_detection_interval = 60
    rig.integration.save()
    first = simulate(rig, sim, 130)
    rig.integration.change_detection_interval = 10
    rig.integration.save()
    second = simulate(rig, sim, 45)
    assert intervals(first)[0] == pytest.approx(60, abs=2)
    # The next run comes 10 s after the last start (or at once if that is already past).
    assert (second[0] - first[-1]).total_seconds() <= 60
    assert all(abs(g - 10) <= 5 for g in intervals(second))


def test_stopped_or_blocked_integrations_are_not_dispatched(rig, sim, monkeypatch):
    from integrations import services

    services.set_run_state(rig.integration, "stopped", None)
    assert dispatch.dispatch_once(lambda i: None, lambda i: None) == []
    services.set_run_state(rig.integration, "running", None)
    monkeypatch.setattr(dispatch, "processing_blocked_reason", lambda: "License expired.")
    assert dispatch.dispatch_once(lambda i: None, lambda i: None) == []


def test_full_scan_dispatched_by_its_interval(rig, sim):
    rig.integration.full_scan_enabled = True
    rig.integration.full_scan_interval = 3600
    rig.integration.save()
    scans = []
    dispatch.dispatch_once(lambda i: None, scans.append)
    sim.advance(3599)
    dispatch.dispatch_once(lambda i: None, scans.append)
    assert scans == []
    sim.advance(2)
    dispatch.dispatch_once(lambda i: None, scans.append)
    assert scans == [rig.integration.pk]


def test_one_dispatcher_at_a_time(db, sim):
    assert leases.acquire_named(dispatch.DISPATCHER, "a", 10)
    assert not leases.acquire_named(dispatch.DISPATCHER, "b", 10)
    assert not dispatch.dispatcher_loop(lambda i: None, lambda i: None, seconds=1)
    sim.advance(11)  # the holder died: its lease expires
    assert leases.acquire_named(dispatch.DISPATCHER, "b", 10)


def test_run_lease_expires_after_a_killed_worker(rig, sim):
    assert leases.acquire_run(rig.integration.pk, "dead-worker")
    assert rig.run() == {"skipped": "another run holds the lease"}
    sim.advance(leases.lease_seconds() + 1)
    assert "detected" in rig.run()
    assert SyncState.objects.get(integration=rig.integration).lease_owner == ""


@pytest.mark.parametrize("interval", [2, 30])
def test_a_lost_run_task_is_enqueued_again_after_a_few_seconds(rig, sim, interval):
    """A worker killed after taking the run task, before the run took its lease: nothing runs it
    (the broker redelivers only after its hour-long retry), so the dispatcher enqueues it again."""
    rig.integration.change_detection_interval = interval
    rig.integration.save()
    enqueued, waiting = [], set()
    dispatch.dispatch_once(enqueued.append, lambda i: None)
    assert enqueued == [rig.integration.pk]  # …and the task is lost: no run starts
    sim.advance(dispatch.RETRY_AFTER_SECONDS - 0.5)
    dispatch.dispatch_once(enqueued.append, lambda i: None, waiting.intersection)
    assert len(enqueued) == 1
    # Still waiting unclaimed in the queue (every worker busy): another copy would only pile up.
    waiting.add(rig.integration.pk)
    sim.advance(1)
    dispatch.dispatch_once(enqueued.append, lambda i: None, waiting.intersection)
    assert len(enqueued) == 1
    waiting.clear()
    dispatch.dispatch_once(enqueued.append, lambda i: None, waiting.intersection)
    assert enqueued == [rig.integration.pk] * 2


def test_run_waiting_reads_the_broker_queue_and_drops_copies_claimed_by_dead_workers(db):
    from django.utils import timezone
    from django_q.brokers import get_broker
    from django_q.models import OrmQ
    from django_q.signing import SignedPackage

    from integrations import tasks

    broker = get_broker()
    for name in ("sync-5", "sync-6", "sync-7", "other"):
        broker.enqueue(SignedPackage.dumps({"id": name, "name": name, "func": "x"}))
    # A worker claimed sync-6's task and was killed before the run took its lease.
    claimed = next(m for m in OrmQ.objects.all() if m.name() == "sync-6")
    OrmQ.objects.filter(pk=claimed.pk).update(lock=timezone.now() + timedelta(hours=1))
    assert tasks.run_waiting([5, 6]) == {5}
    assert sorted(m.name() for m in OrmQ.objects.all()) == ["other", "sync-5", "sync-7"]


def test_a_run_killed_holding_its_lease_is_retried_after_a_few_seconds_not_an_interval(rig, sim):
    rig.integration.change_detection_interval = 60
    rig.integration.save()
    enqueued = []
    dispatch.dispatch_once(enqueued.append, lambda i: None)
    assert leases.acquire_run(rig.integration.pk, "vm:1:killed")  # the run starts, then its worker dies
    sim.advance(leases.lease_seconds() + 1)  # its lease expires (at once if its process is known dead)
    dispatch.dispatch_once(enqueued.append, lambda i: None)
    assert enqueued == [rig.integration.pk] * 2
    # A run that finished normally waits for its interval.
    owner = leases.new_owner()
    assert leases.acquire_run(rig.integration.pk, owner)
    leases.release_run(rig.integration.pk, owner, last_run_finished=clock.now())
    sim.advance(30)
    dispatch.dispatch_once(enqueued.append, lambda i: None)
    assert len(enqueued) == 2


def test_the_loop_ends_and_hands_over_when_another_installation_takes_over(db, sim, monkeypatch):
    """Another installation took the instance lease mid-loop: the loop stops within a pass and
    frees the dispatcher lease for the holder's dispatcher (no successor: see dispatcher_tick)."""
    from tasktop_hub import conditions

    state: dict[str, object] = {"reason": None, "passes": 0}

    def one_pass(*args, **kwargs):
        state["passes"] = int(state["passes"]) + 1
        if state["passes"] == 2:
            state["reason"] = "Another hub installation took this database's instance lease"
        return []

    monkeypatch.setattr(dispatch, "dispatch_once", one_pass)
    conditions.register(conditions.Condition(key="test-hand-over", reason=lambda: state["reason"], issue_key="t",
                                             issue_title="t", health=False, blocks=False, hands_over=True))
    try:
        assert dispatch.dispatcher_loop(lambda i: None, lambda i: None, seconds=60) is False
        assert state["passes"] == 2
        assert leases.acquire_named(dispatch.DISPATCHER, "the holder's dispatcher", 10)
        assert dispatch.dispatcher_loop(lambda i: None, lambda i: None, seconds=60) is False  # nor takes it
    finally:
        conditions.unregister("test-hand-over")
