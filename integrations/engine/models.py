"""The engine's own durable state: per-integration run bookkeeping and lease, change cursors,
pending work, and per-connection health. Imported by ``integrations.models``."""

from __future__ import annotations

from django.db import models


class SyncState(models.Model):
    """One row per integration: the run lease (runs never overlap) and when things last ran.

    The lease is taken with a conditional UPDATE (owner empty or expired), which behaves the
    same on SQLite, PostgreSQL and MariaDB, and expires by itself when a worker is killed.
    """

    integration = models.OneToOneField("integrations.Integration", on_delete=models.CASCADE, related_name="sync_state")
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires = models.DateTimeField(null=True, blank=True)
    last_run_started = models.DateTimeField(null=True, blank=True)
    last_run_finished = models.DateTimeField(null=True, blank=True)
    last_enqueued = models.DateTimeField(null=True, blank=True)
    last_full_scan = models.DateTimeField(null=True, blank=True)
    process_all_requested = models.BooleanField(default=False)
    run_now = models.BooleanField(default=False, help_text="Run at the next dispatcher tick, whatever the interval.")
    runs = models.PositiveBigIntegerField(default=0)
    last_result = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"sync state of integration {self.integration_id}"


class ChangeCursor(models.Model):
    """Where change detection stands in one project of one side of an integration.

    ``last_ts`` is the newest updated-at seen; ``seen`` maps artifact id → version for every
    artifact seen within the overlap window before ``last_ts`` (at least those at ``last_ts``),
    so the next run re-reads that window without recording any of them twice.
    """

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="cursors")
    side = models.CharField(max_length=5)  # left | right
    project = models.CharField(max_length=200)
    last_ts = models.DateTimeField(null=True, blank=True)
    seen = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "side", "project"], name="cursor_once_per_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.integration_id}/{self.side}/{self.project} @ {self.last_ts}"


class PendingWork(models.Model):
    """A detected change waiting to be processed. Durable: it survives crashes and restarts,
    and is deleted only when processing committed (and nothing newer was detected meanwhile)."""

    class Status(models.TextChoices):
        READY = "ready", "Ready"
        BLOCKED = "blocked", "Blocked by an error"

    # No single-column index: pending_list_integration leads with it.
    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="pending",
                                    db_index=False)
    side = models.CharField(max_length=5)
    artifact_id = models.CharField(max_length=200)
    project = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    detected_at = models.DateTimeField()
    not_before = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "side", "artifact_id"], name="pending_once_per_artifact"),
        ]
        indexes = [
            models.Index(fields=["integration", "status", "not_before"], name="pending_ready_idx"),
            # The API's list (by id, cursor paging) and its filters.
            models.Index(fields=["integration", "id"], name="pending_list_integration"),
            models.Index(fields=["status", "id"], name="pending_list_status"),
            models.Index(fields=["integration", "status", "id"], name="pending_list_integ_status"),
        ]

    def __str__(self) -> str:
        return f"{self.side}:{self.artifact_id} ({self.status})"


class CreateIntent(models.Model):
    """What the hub is about to write when it creates the twin of a new artifact, recorded
    durably *before* the remote create and deleted with the commit of the pair.

    If the process dies in between, the twin exists (found by its hub key) but no pair does:
    the run that adopts the twin starts the pair's base from this record, so a field someone
    changed on the twin since counts as a change on the twin's side (and follows the conflict
    strategy) instead of being overwritten by the source's value.
    """

    integration = models.ForeignKey("integrations.Integration", on_delete=models.CASCADE, related_name="create_intents")
    side = models.CharField(max_length=5)  # the source's side
    artifact_id = models.CharField(max_length=200)  # the source artifact
    base = models.JSONField(default=dict)  # {"left": {model field: value}, "right": {…}} as the pair's base
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "side", "artifact_id"], name="intent_once_per_source"),
        ]

    def __str__(self) -> str:
        return f"create intent for {self.side}:{self.artifact_id}"


class ConnectionHealth(models.Model):
    """Connection-level failures (auth, unreachable): one Activity issue and a polling backoff."""

    connection = models.OneToOneField("integrations.RepositoryConnection", on_delete=models.CASCADE,
                                      related_name="health")
    failures = models.PositiveIntegerField(default=0)
    backoff_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"health of connection {self.connection_id}"


class EngineLease(models.Model):
    """Named leases for singletons such as the dispatcher loop."""

    name = models.CharField(max_length=100, unique=True)
    owner = models.CharField(max_length=100, blank=True)
    expires = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
