"""Thin django-q2 entry points of the storage app."""

from __future__ import annotations

from django.utils import timezone

from notifications.models import BackgroundJob
from storage import pause


def end_dead_transfer() -> int | None:
    """A transfer whose worker died (no heartbeat): fail its job and end its pause.

    The source database was only read, so nothing needs undoing here; the target's partial
    tables stay until someone runs cleanup (the connection test offers it).
    """
    job = pause.clear_stale()
    if job is not None:
        BackgroundJob.objects.filter(pk=job, status__in=[BackgroundJob.Status.QUEUED, BackgroundJob.Status.RUNNING]) \
            .update(status=BackgroundJob.Status.FAILED, finished_at=timezone.now(),
                    error="The worker running the transfer stopped (killed or crashed). The hub kept its database; "
                          "run cleanup on the target, then transfer again.")
    return job
