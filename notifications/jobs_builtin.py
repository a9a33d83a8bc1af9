"""Jobs that ship with the Activity app itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import jobs
from notifications.models import ActivityError, ActivityIssue, BackgroundJob


@jobs.register
class PurgeActivityJob(jobs.Job):
    """Delete resolved errors and issues and finished jobs older than N days (never the audit trail).

    Deletes in batches so a large backlog neither holds one long write lock (SQLite) nor
    loses all progress when interrupted: rerunning it continues where it stopped.
    """

    kind = "purge_activity"
    title = "Purge old Activity"
    batch_size = 500

    def validate(self, params: dict[str, Any]) -> dict[str, Any]:
        days = params.get("older_than_days", 30)
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3650:
            raise ValidationError({"older_than_days": "Must be a whole number of days between 1 and 3650."})
        extra = set(params) - {"older_than_days"}
        if extra:
            raise ValidationError({name: "Unknown parameter; only older_than_days is accepted." for name in extra})
        return {"older_than_days": days}

    def run(self, older_than_days: int) -> dict[str, int]:
        cutoff = timezone.now() - timedelta(days=older_than_days)
        querysets = {
            "errors": ActivityError.objects.filter(status=ActivityError.Status.RESOLVED, last_seen__lt=cutoff),
            "issues": ActivityIssue.objects.filter(status=ActivityIssue.Status.RESOLVED, last_seen__lt=cutoff),
            "jobs": BackgroundJob.objects.filter(status__in=BackgroundJob.FINISHED, finished_at__lt=cutoff)
            .exclude(pk=self.record.pk),
        }
        total = sum(qs.count() for qs in querysets.values())
        self.log(f"Purging {total} record(s) older than {older_than_days} day(s).")
        self.progress(0, total, force=True)
        done = 0
        deleted: dict[str, int] = {}
        for name, qs in querysets.items():
            deleted[name] = 0
            while True:
                ids = list(qs.values_list("pk", flat=True)[: self.batch_size])
                if not ids:
                    break
                count = qs.model._default_manager.filter(pk__in=ids).delete()[0]
                deleted[name] += count
                done += count
                self.progress(done, total)
                self.stop_if_cancelled()  # a chunk is committed: a cancel stops here, consistent
            self.log(f"Deleted {deleted[name]} {name}.")
        self.progress(done, total, force=True)
        return deleted
