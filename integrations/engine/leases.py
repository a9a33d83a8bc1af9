"""Leases taken with one conditional UPDATE: free or expired → mine. Works the same on SQLite,
PostgreSQL and MariaDB, across processes and machines, and a killed holder's lease simply
expires.

A run's lease is kept alive by a heartbeat thread (:class:`RunLease`) for as long as the run
lives, including while a thread waits on a stalled tool: otherwise a second worker or
installation would take over a run that is still writing. The owner string is the lease's
token: every commit of a run (pairs, pending rows, cursors) first re-asserts it with a
conditional UPDATE inside the commit's transaction (:meth:`RunLease.fence`). That UPDATE locks
the row until the commit ends, so a takeover is ordered either before the commit (which then
fails and rolls back) or after it — never in between.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Q

from integrations.engine import clock
from integrations.engine.models import EngineLease, SyncState

log = logging.getLogger(__name__)


def new_owner() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def lease_seconds() -> int:
    return int(getattr(settings, "HUB_ENGINE_LEASE_SECONDS", 60))


def _free(now) -> Q:  # noqa: ANN001
    return Q(lease_owner="") | Q(lease_expires__isnull=True) | Q(lease_expires__lt=now)


def holder_dead(owner: str) -> bool:
    """A holder on this machine whose process is gone (kill -9) need not be waited for."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:40] or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire_run(integration_id: int, owner: str) -> bool:
    """Take the run lease of an integration (runs of one integration never overlap)."""
    state, _ = SyncState.objects.get_or_create(integration_id=integration_id)
    now = clock.now()
    free = _free(now)
    if state.lease_owner and holder_dead(state.lease_owner):
        free |= Q(lease_owner=state.lease_owner)
    return bool(SyncState.objects.filter(free, integration_id=integration_id).update(
        lease_owner=owner, lease_expires=now + timedelta(seconds=lease_seconds()), last_run_started=now,
    ))


def renew_run(integration_id: int, owner: str) -> bool:
    now = clock.now()
    return bool(SyncState.objects.filter(integration_id=integration_id, lease_owner=owner).update(
        lease_expires=now + timedelta(seconds=lease_seconds())))


class LeaseLost(Exception):
    """The run's lease expired or was taken over: stop before the next remote write, commit nothing."""


class RunLease:
    """The run lease one run holds, renewed every third of its duration by a heartbeat thread.

    ``check()`` (before every remote write) fails once a renewal found the lease taken over, or
    when no renewal succeeded for most of the lease (the hub's database unreachable): by then
    another run may take the lease, so this one must not write any more.
    """

    def __init__(self, integration_id: int, owner: str, seconds: float | None = None) -> None:
        self.integration_id, self.owner = integration_id, owner
        self.seconds = float(seconds or lease_seconds())
        self._valid_until = clock.monotonic() + self.seconds
        self._lost = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def acquire(cls, integration_id: int, owner: str | None = None) -> RunLease | None:
        owner = owner or new_owner()
        started = clock.monotonic()
        if not acquire_run(integration_id, owner):
            return None
        lease = cls(integration_id, owner)
        lease._valid_until = started + lease.seconds
        return lease

    def start(self) -> None:
        self._thread = threading.Thread(target=self._beat, name=f"lease-{self.integration_id}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        try:
            while not self._stop.wait(self.seconds / 3) and not self._lost.is_set():
                self.renew()
        finally:
            connection.close()  # the heartbeat's own database connection

    def renew(self) -> bool:
        started = clock.monotonic()
        try:
            ok = renew_run(self.integration_id, self.owner)
        except DatabaseError as exc:
            # Unknown: the lease may still be ours. It is not extended, so check() fails once
            # it would have expired.
            log.warning("Could not renew the run lease of integration %s: %s", self.integration_id, exc)
            connection.close()
            return False
        if ok:
            self._valid_until = started + self.seconds
        else:
            log.warning("Run lease of integration %s was taken over; this run stops.", self.integration_id)
            self._lost.set()
        return ok

    @property
    def lost(self) -> bool:
        # A quarter of the lease is kept as a margin for the write about to start.
        return self._lost.is_set() or clock.monotonic() > self._valid_until - self.seconds / 4

    def check(self) -> None:
        if self.lost:
            raise LeaseLost(f"the run lease of integration {self.integration_id} was lost")

    def fence(self) -> None:
        """Inside a commit's transaction: re-assert the lease (and extend it) or raise LeaseLost."""
        now = clock.now()
        if self._lost.is_set() or not SyncState.objects.filter(
                integration_id=self.integration_id, lease_owner=self.owner).update(
                lease_expires=now + timedelta(seconds=self.seconds)):
            self._lost.set()
            raise LeaseLost(f"the run lease of integration {self.integration_id} was taken over; nothing committed")


def runs_in_flight() -> list[str]:
    """The drain's probe (tasktop_hub.inflight): runs holding their lease now (a dead holder's
    lease, on this machine, does not count; elsewhere it counts until it expires)."""
    now = clock.now()
    held = SyncState.objects.filter(lease_expires__gte=now).exclude(lease_owner="").select_related("integration")
    return [f"a run of integration \"{state.integration.name}\" (run lease held by {state.lease_owner} "
            f"until {state.lease_expires:%H:%M:%S} UTC)" for state in held if not holder_dead(state.lease_owner)]


def release_run(integration_id: int, owner: str, **fields) -> None:  # noqa: ANN003
    SyncState.objects.filter(integration_id=integration_id, lease_owner=owner).update(
        lease_owner="", lease_expires=None, **fields)


def acquire_named(name: str, owner: str, seconds: float) -> bool:
    lease, _ = EngineLease.objects.get_or_create(name=name)
    now = clock.now()
    free = Q(owner="") | Q(expires__isnull=True) | Q(expires__lt=now) | Q(owner=owner)
    if lease.owner and lease.owner != owner and holder_dead(lease.owner):
        free |= Q(owner=lease.owner)
    return bool(EngineLease.objects.filter(free, name=name).update(owner=owner, expires=now + timedelta(seconds=seconds)))


def release_named(name: str, owner: str) -> None:
    EngineLease.objects.filter(name=name, owner=owner).update(owner="", expires=None)
