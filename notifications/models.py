"""Activity: errors (one artifact failed), issues (the system needs attention), background
jobs (long work with progress and a log), and the audit trail of every state change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class ActivityError(models.Model):
    """Processing of one artifact failed. Stays until retried successfully or ignored.

    The lists' indexes are composite (``Meta.indexes``); no column has a single index of its own.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RETRYING = "retrying", "Retry requested"
        IGNORED = "ignored", "Ignored"
        RESOLVED = "resolved", "Resolved"

    integration_id = models.BigIntegerField(null=True, blank=True)
    integration_name = models.CharField(max_length=200, blank=True)
    artifact = models.CharField(max_length=300, help_text="Connection and artifact id, e.g. 'redmine-prod:1234'.")
    category = models.CharField(max_length=50, default="processing")
    message = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    occurrences = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    ignored_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        # Newest first by an ordering that never changes once written (first_seen, id): the API's
        # cursor and the admin's pages stay stable while errors recur (last_seen moves).
        ordering = ["-first_seen", "-id"]
        # One per filter of the lists (API, admin, Activity screen), each ending in the ordering:
        # a filtered page is an index range, not a sort of every matching row.
        indexes = [
            models.Index(fields=["first_seen", "id"], name="act_error_list"),
            models.Index(fields=["status", "first_seen", "id"], name="act_error_status"),
            models.Index(fields=["integration_id", "first_seen", "id"], name="act_error_integration"),
            models.Index(fields=["integration_id", "status", "first_seen", "id"], name="act_error_integ_status"),
        ]
        constraints = [
            # One live error per artifact and integration; repeats bump `occurrences`.
            models.UniqueConstraint(
                fields=["integration_id", "artifact"],
                condition=Q(status__in=["open", "retrying", "ignored"]),
                name="activity_error_one_live_per_artifact",
            )
        ]

    def __str__(self) -> str:
        return f"{self.artifact}: {self.message[:80]}"


class ActivityIssue(models.Model):
    """A system condition (license expired, connection unreachable, …): raised once while the
    condition holds, resolved when it clears."""

    class Severity(models.TextChoices):
        WARNING = "warning", "Warning"
        ERROR = "error", "Error"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    key = models.CharField(max_length=200, help_text="Identifies the condition, e.g. 'connection-unreachable:3'.")
    title = models.CharField(max_length=300)
    message = models.TextField(blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.ERROR)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [
            models.Index(fields=["raised_at", "id"], name="act_issue_list"),
            models.Index(fields=["status", "raised_at", "id"], name="act_issue_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], condition=Q(status="open"), name="activity_issue_one_open_per_key"
            )
        ]

    def __str__(self) -> str:
        return self.title


class BackgroundJob(models.Model):
    """One run of a job class (see notifications/jobs.py): status, progress, log."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    kind = models.CharField(max_length=100)
    title = models.CharField(max_length=300)
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress_done = models.PositiveBigIntegerField(default=0)
    progress_total = models.PositiveBigIntegerField(null=True, blank=True)
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    # Someone asked to cancel it (notifications.jobs.cancel); a running job stops at its next check.
    cancel_requested = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_at", "id"], name="job_list"),
            models.Index(fields=["status", "created_at", "id"], name="job_status"),
            models.Index(fields=["kind", "created_at", "id"], name="job_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.status})"

    @property
    def percent(self) -> float | None:
        return self.percent_of(self.progress_done, self.progress_total)

    @staticmethod
    def percent_of(done: int, total: int | None) -> float | None:
        """The progress in percent, one decimal; None while the total is unknown (also what the
        API's job list computes from the two columns: tasktop_hub/api/fast_lists.py)."""
        if not total:
            return None
        return round(100.0 * done / total, 1)


class AppendOnly(Exception):
    """The audit trail is append-only: a written row is never changed or deleted."""


class AuditQuerySet(models.QuerySet["AuditEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnly("The audit trail is append-only; audit rows cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnly("The audit trail is append-only; audit rows cannot be deleted.")


class AuditEvent(models.Model):
    """Who changed what, written in the same transaction as the change itself. Append-only
    (model, queryset, admin, API): a deleted user's rows keep the action with ``actor`` null."""

    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=100)
    target = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["at", "id"], name="audit_list"),
            models.Index(fields=["action", "at", "id"], name="audit_action"),
            models.Index(fields=["actor", "at", "id"], name="audit_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.target}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AppendOnly("The audit trail is append-only; audit rows cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnly("The audit trail is append-only; audit rows cannot be deleted.")
