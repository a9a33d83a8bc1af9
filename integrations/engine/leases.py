"""Leases taken with one conditional UPDATE: free or expired → mine. Works the same on SQLite,
PostgreSQL and MariaDB, across processes and machines, and a killed holder's lease simply
expires."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import timedelta

from django.conf import settings
from django.db.models import Q

from integrations.engine import clock
from integrations.engine.models import EngineLease, SyncState


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
