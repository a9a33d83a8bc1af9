"""This installation's django-q2 queue: its name, and the tasks queued under the old shared name.

Several installations may share one database (storage/lease.py: only the instance lease holder
processes). django-q2's ORM broker keeps every queue in one table, keyed by the cluster's name,
and signs each task with the installation's own SECRET_KEY (salted with that name). Under one
shared name a cluster would take the other installation's tasks and fail to read them
(BadSignature), and its worker stats (kept in the database cache under the name) would mix with
the other's. So each installation has its own name, derived from its installation id: every
process of one installation (scale-out included) shares that id, hence one queue.

The signing key stays in each HUB_HOME: a key kept in the database would let whoever can write
the database forge pickled tasks, i.e. run code on the workers.
"""

from __future__ import annotations

import hashlib
import logging
import re

log = logging.getLogger(__name__)

PREFIX = "tasktop_hub"
# Before installations had their own queue, every one used this name.
LEGACY_NAME = PREFIX
_GENERATED = re.compile(r"[0-9a-f]{32}")


def cluster_name(installation_id: str) -> str:
    """``tasktop_hub-<8 hex>``: the generated id's first 8 hex digits (recognisable in logs), or
    for an id set by HUB_INSTALLATION_ID (any text) the first 8 of its SHA-256."""
    ident = installation_id.strip().lower()
    short = ident[:8] if _GENERATED.fullmatch(ident) else hashlib.sha256(ident.encode()).hexdigest()[:8]
    return f"{PREFIX}-{short}"


def adopt_legacy_tasks() -> int:
    """Move this installation's tasks still queued under the old shared name into its own queue.

    Run by the cluster at start. A task is this installation's when its signature verifies with
    this installation's SECRET_KEY and the old name's salt; it is re-signed for the new name. The
    others belong to another installation sharing the database: left for it to adopt."""
    from django.conf import settings
    from django.db import DatabaseError, transaction
    from django_q import core_signing as signing
    from django_q.models import OrmQ
    from django_q.signing import PickleSerializer

    name = settings.Q_CLUSTER["name"]
    if name == LEGACY_NAME:
        return 0
    adopted = 0
    try:
        with transaction.atomic(using=settings.Q_CLUSTER.get("orm", "default")):
            for row in OrmQ.objects.select_for_update().filter(key=LEGACY_NAME):
                try:
                    task = signing.loads(row.payload, key=settings.SECRET_KEY, salt=LEGACY_NAME,
                                         serializer=PickleSerializer)
                except signing.BadSignature:
                    continue
                row.payload = signing.dumps(task, key=settings.SECRET_KEY, salt=name, serializer=PickleSerializer,
                                            compress=settings.Q_CLUSTER.get("compress", False))
                row.key = name
                row.save(update_fields=["payload", "key"])
                adopted += 1
    except DatabaseError:  # no queue table yet (before migrate) or the database is down: nothing to move now
        log.warning("Could not look for tasks queued under the old shared name '%s'.", LEGACY_NAME, exc_info=True)
        return 0
    if adopted:
        log.info("Moved %d task(s) queued under the old shared name '%s' into this installation's queue '%s'.",
                 adopted, LEGACY_NAME, name)
    return adopted
