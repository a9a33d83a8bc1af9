"""The gateway's durable state. Imported by ``integrations.models``."""

from __future__ import annotations

from django.db import models


class GatewayDelivery(models.Model):
    """One accepted POST, recorded before the hub answers 202: a crash after the answer loses
    nothing, and a repeated ``Idempotency-Key`` finds this row instead of making another."""

    class Status(models.TextChoices):
        RECEIVED = "received", "Received (waiting for the worker)"
        PROCESSED = "processed", "Processed"
        FAILED = "failed", "Failed (see its error)"

    collection = models.ForeignKey("integrations.Collection", on_delete=models.CASCADE, related_name="deliveries")
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    payload = models.JSONField()
    received_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    artifact_id = models.CharField(max_length=200, blank=True, help_text="The gateway artifact it made or changed.")
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "gateway deliveries"
        constraints = [
            # NULL keys (no header) are distinct on every supported database: only keyed POSTs dedupe.
            models.UniqueConstraint(fields=["collection", "idempotency_key"], name="delivery_key_once_per_collection"),
        ]
        indexes = [models.Index(fields=["collection", "status", "id"], name="delivery_status_idx")]

    def __str__(self) -> str:
        return f"delivery {self.pk} to collection {self.collection_id} ({self.status})"


class GatewayArtifact(models.Model):
    """An artifact of a gateway connection, as its deliveries made it: what the ``gateway``
    connector reads. Its id is ``delivery:<id>``, or ``key:<match value>`` when the collection
    has a match field (then a later delivery with the same value changes it)."""

    connection = models.ForeignKey("integrations.RepositoryConnection", on_delete=models.CASCADE,
                                   related_name="gateway_artifacts")
    project = models.CharField(max_length=200)
    artifact_id = models.CharField(max_length=200)
    fields = models.JSONField(default=dict)
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "artifact_id"], name="gateway_artifact_once"),
        ]
        indexes = [models.Index(fields=["connection", "project", "updated_at"], name="gateway_artifact_changes_idx")]

    def __str__(self) -> str:
        return f"{self.artifact_id} (v{self.version})"


class GatewayWindow(models.Model):
    """The collection's rate-limit window: POSTs counted since ``started`` (one minute), with
    atomic UPDATEs so every web process shares one count."""

    collection = models.OneToOneField("integrations.Collection", on_delete=models.CASCADE, related_name="gateway_window")
    started = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"rate window of collection {self.collection_id}"
