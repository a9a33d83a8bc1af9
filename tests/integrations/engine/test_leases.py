"""The run lease lives as long as the run: renewed while a thread waits on a stalled tool, and a
run whose lease was taken over stops before its next remote write and commits nothing."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from integrations.engine import leases
from integrations.engine.models import ChangeCursor, PendingWork, SyncState
from integrations.models import ArtifactPair
from tests.integrations.engine.helpers import FlakyConnector, make_rig


@pytest.fixture
def live_rig(transactional_db, sqlite_urls, settings):
    """The rig with committed transactions: the lease heartbeat and the tools' threads use
    their own database connections, as in a worker."""
    settings.HUB_ENGINE_OVERLAP_SECONDS = 2
    r = make_rig(*sqlite_urls)
    yield r
    r.left.close()
    r.right.close()


class Stalling(FlakyConnector):
    """TEST WRAPPER around the real right-hand connector: ``create`` calls ``during(n)`` (n = the
    create's number) before reaching the tool."""

    def __init__(self, inner, during) -> None:
        super().__init__(inner)
        self.during, self.creates = during, 0

    def create(self, *args, **kwargs):
        self.creates += 1
        try:
            self.during(self.creates)
        finally:
            connection.close()  # this thread's connection, if during() used one
        return self._inner.create(*args, **kwargs)


def test_lease_is_renewed_while_a_tool_stalls_longer_than_the_lease(live_rig, settings):
    settings.HUB_ENGINE_LEASE_SECONDS = 2
    for n in range(3):
        live_rig.left.create("ALPHA", {"summary": f"s{n}"}, hub_key="")
    rival_got_it = []

    def stall(n: int) -> None:
        if n != 1:
            return
        deadline = time.monotonic() + 3 * settings.HUB_ENGINE_LEASE_SECONDS
        while time.monotonic() < deadline:  # another worker tries to take over meanwhile
            rival_got_it.append(leases.acquire_run(live_rig.integration.pk, "other-host:1:rival"))
            time.sleep(0.25)

    live_rig.wrap = lambda c: Stalling(c, stall) if c.url.endswith("right.db") else c
    summary = live_rig.run()
    assert rival_got_it and not any(rival_got_it)
    assert summary["created"] == 3 and ArtifactPair.objects.count() == 3
    assert leases.acquire_run(live_rig.integration.pk, "other-host:1:rival")  # released at the end


def test_a_run_that_cannot_renew_stops_before_its_next_write_and_commits_nothing(live_rig, settings, monkeypatch):
    settings.HUB_ENGINE_LEASE_SECONDS = 2
    from django.db import OperationalError

    from settings_app.services import update_settings

    update_settings(None, max_concurrency=1)
    for n in range(20):
        live_rig.left.create("ALPHA", {"summary": f"s{n}"}, hub_key="")
    integration = live_rig.integration.pk

    def unreachable(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(leases, "renew_run", unreachable)
    rival = []

    def stall(n: int) -> None:
        if n == 3:  # the tool stalls past the lease; another installation takes the expired lease
            while not leases.acquire_run(integration, "other-host:1:rival"):
                time.sleep(0.2)
            rival.append(True)

    live_rig.wrap = lambda c: Stalling(c, stall) if c.url.endswith("right.db") else c
    summary = live_rig.run()
    assert rival and "stopped" in summary
    assert len(live_rig.rows("right")) == 3  # the write in flight landed; no further write started
    assert not ArtifactPair.objects.exists()  # and nothing was committed under the lost lease
    assert SyncState.objects.get(integration_id=integration).lease_owner == "other-host:1:rival"
    assert PendingWork.objects.count() == 20
    # The rival finishes (here: releases its lease); the next runs deliver everything, once.
    monkeypatch.undo()
    leases.release_run(integration, "other-host:1:rival")
    live_rig.wrap = None
    live_rig.run_until_quiet()
    right = live_rig.rows("right")
    assert len(right) == 20 and ArtifactPair.objects.count() == 20
    assert len({a.hub_key for a in right.values()}) == 20


def test_a_run_taken_over_is_stopped_by_its_next_renewal(live_rig, settings):
    settings.HUB_ENGINE_LEASE_SECONDS = 2
    from settings_app.services import update_settings

    update_settings(None, max_concurrency=1)
    for n in range(5):
        live_rig.left.create("ALPHA", {"summary": f"s{n}"}, hub_key="")
    integration = live_rig.integration.pk

    def take_over(n: int) -> None:
        if n == 1:  # say an operator cleared the lease and another worker took it
            SyncState.objects.filter(integration_id=integration).update(lease_owner="other-host:1:rival")
            time.sleep(2)  # the heartbeat (every 2/3 s here) notices

    live_rig.wrap = lambda c: Stalling(c, take_over) if c.url.endswith("right.db") else c
    summary = live_rig.run()
    assert "stopped" in summary
    assert len(live_rig.rows("right")) == 1 and not ArtifactPair.objects.exists()


def test_detection_of_a_run_taken_over_does_not_advance_the_cursor(live_rig):
    live_rig.left.create("ALPHA", {"summary": "x"}, hub_key="")
    from integrations.engine import context, detection

    ctx = context.load(live_rig.integration)
    ctx.lease = leases.RunLease.acquire(live_rig.integration.pk)
    SyncState.objects.filter(integration=live_rig.integration).update(lease_owner="other-host:1:rival")
    with pytest.raises(leases.LeaseLost):
        detection.detect(ctx)
    ctx.close()
    assert not PendingWork.objects.exists()
    assert not ChangeCursor.objects.filter(last_ts__isnull=False).exists()
