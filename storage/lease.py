"""The instance lease: one installation processes on a database at a time.

An *installation* is everything that shares one configuration: its web and worker processes,
on one machine or many (scale-out: every machine sets the same ``HUB_INSTALLATION_ID``;
otherwise the id is generated once into ``HUB_HOME/installation-id``). The installation that
runs on a database holds the lease there (one ``InstanceLease`` row). This is not the
engine's per-integration *run* lease.

The rules, evaluated by every process at most every ``HUB_INSTANCE_LEASE_CHECK_SECONDS``:

* no holder yet → this installation takes the lease;
* this installation never held the lease on this database (by its local record
  ``HUB_HOME/db/instance-lease.json``, keyed by the database's identity) → it is a new
  installation starting on the database: it takes the lease over, and the previous holder
  stops processing;
* it held the lease and someone else holds it now → it lost the lease: it stops processing
  and its Settings, API and health say so and offer to override (take it back) or to point
  it at another database. A restart does not take the lease back; only an override does.

Work follows the lease. Each installation has its own django-q2 queue (tasktop_hub/queue.py),
and django-q2's scheduler in every running cluster fires the due schedules whose ``cluster`` is
its own name (or NULL). So whenever the lease is taken (first start, takeover, override,
transfer) the hub's schedules are given to the holder's cluster in the same transaction, and the
holder re-asserts that at each renewal (a schedule created meanwhile, e.g. by a ``migrate`` run
from the other installation, is corrected within ``RENEW_SECONDS``). A cluster without the lease
thus fires no schedule; its workers skip what is still in its own queue, and the engine's
dispatcher, which re-enqueues itself, ends its turn there (``Condition.hands_over``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone

from tasktop_hub import queue as hub_queue
from tasktop_hub.home import write_private_file

LOCAL_FILE = "instance-lease.json"
RENEW_SECONDS = 30

_lock = threading.Lock()
_cache: dict[str, Any] = {"at": 0.0, "reason": None, "db": None}


def holder_fields() -> dict[str, str]:
    from settings_app.models import HubSettings

    # Read only (get_settings() would create the row): a transfer must not write its source.
    label = HubSettings.objects.filter(pk=HubSettings.SINGLETON_PK).values_list("instance_label", flat=True).first()
    return {"holder": settings.HUB_INSTALLATION_ID, "holder_label": (label or "")[:200],
            "holder_host": socket.gethostname()[:200]}


def _local_path() -> Path:
    return Path(settings.HUB_DB_DIR) / LOCAL_FILE


def _local() -> dict[str, str]:
    try:
        return json.loads(_local_path().read_text())
    except (FileNotFoundError, ValueError):
        return {}


def _record_local(database_id: str, state: str) -> None:
    local = _local()
    if local.get(database_id) != state:
        local[database_id] = state
        write_private_file(_local_path(), json.dumps(local).encode())


def schedules_follow(holder: str, using: str = "default") -> int:
    """Give the hub's schedules to the holder's cluster (see the module's doc); how many moved.

    Every schedule whose cluster is unset or one of the hub's queue names (current or legacy)
    follows; one pinned by an operator to another cluster is left alone."""
    from django.db.models import Q
    from django_q.models import Schedule

    name = hub_queue.cluster_name(holder)
    ours = Q(cluster__isnull=True) | Q(cluster="") | Q(cluster=hub_queue.LEGACY_NAME) \
        | Q(cluster__startswith=f"{hub_queue.PREFIX}-")
    return Schedule.objects.using(using).filter(ours).exclude(cluster=name).update(cluster=name)


def database_identity() -> str:
    """This database's identity, created the first time the hub runs on it."""
    from storage.models import DatabaseIdentity

    row = DatabaseIdentity.objects.order_by("pk").first()
    if row is None:
        row = DatabaseIdentity.objects.create(hub_installation=settings.HUB_INSTALLATION_ID)
    return str(row.database_id)


def lost_message(row: Any) -> str:
    who = row.holder_label or row.holder
    return (f"Another hub installation ({who} on {row.holder_host or 'an unknown host'}) took this database's "
            f"instance lease at {row.taken_at:%Y-%m-%d %H:%M:%S} UTC. This installation has stopped processing. "
            "Point it at another database, or override to take the database back (only after making sure the other "
            "installation is stopped).")


def evaluate() -> str | None:
    """Take, keep or notice the loss of the lease; the reason processing must stop, or None."""
    from storage.models import InstanceLease

    me = settings.HUB_INSTALLATION_ID
    database_id = database_identity()
    local = _local().get(database_id)
    now = timezone.now()
    row = InstanceLease.objects.filter(pk=1).first()
    if row is None:
        try:
            with transaction.atomic():
                InstanceLease.objects.create(pk=1, taken_at=now, renewed_at=now, how="start", **holder_fields())
                schedules_follow(me)
        except IntegrityError:
            return evaluate()  # another process of some installation was first; judge again
        _record_local(database_id, "held")
        return None
    if row.holder == me:
        if local != "held":
            _record_local(database_id, "held")
        if (now - row.renewed_at).total_seconds() > RENEW_SECONDS:
            with transaction.atomic():
                if InstanceLease.objects.filter(pk=1, holder=me).update(renewed_at=now):
                    schedules_follow(me)
        return None
    if local is None:  # a new installation starting on this database: it takes the lease
        with transaction.atomic():
            taken = InstanceLease.objects.filter(pk=1, generation=row.generation).update(
                generation=row.generation + 1, taken_at=now, renewed_at=now, how="takeover", **holder_fields())
            if taken:
                schedules_follow(me)
        if not taken:
            return evaluate()
        _record_local(database_id, "held")
        return None
    _record_local(database_id, "lost")
    return lost_message(row)


def reason() -> str | None:
    """The condition's reason (cached for HUB_INSTANCE_LEASE_CHECK_SECONDS per process)."""
    from django.db import connection

    now = time.monotonic()
    db_key = (connection.settings_dict.get("ENGINE"), connection.settings_dict.get("NAME"),
              connection.settings_dict.get("HOST"))
    if now - _cache["at"] < settings.HUB_INSTANCE_LEASE_CHECK_SECONDS and _cache["db"] == db_key:
        return _cache["reason"]
    with _lock:
        try:
            result = evaluate()
        except DatabaseError:
            result = None  # no tables yet (before migrate) or the database is down: health says so
        _cache.update(at=now, reason=result, db=db_key)
    return result


def forget() -> None:
    _cache.update(at=0.0, reason=None, db=None)


def override() -> dict[str, Any]:
    """Take the lease back (after the seed's warning): the other installation stops processing."""
    from storage.models import InstanceLease

    database_id = database_identity()
    now = timezone.now()
    with transaction.atomic():
        row = InstanceLease.objects.select_for_update().filter(pk=1).first()
        if row is None:
            row = InstanceLease.objects.create(pk=1, taken_at=now, renewed_at=now, how="override", **holder_fields())
        else:
            for name, value in holder_fields().items():
                setattr(row, name, value)
            row.generation += 1
            row.taken_at = row.renewed_at = now
            row.how = "override"
            row.save()
        schedules_follow(settings.HUB_INSTALLATION_ID)
    _record_local(database_id, "held")
    forget()
    return status()


def status() -> dict[str, Any]:
    from storage.models import InstanceLease

    lost = reason()  # first: it takes the lease when nobody holds it yet
    row = InstanceLease.objects.filter(pk=1).first()
    return {
        "installation": settings.HUB_INSTALLATION_ID,
        "holder": row.holder if row else None,
        "holder_label": row.holder_label if row else "",
        "holder_host": row.holder_host if row else "",
        "taken_at": row.taken_at.isoformat() if row else None,
        "how": row.how if row else "",
        "held_by_this_installation": bool(row and row.holder == settings.HUB_INSTALLATION_ID),
        "lost_reason": lost,
    }
