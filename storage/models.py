"""What the hub keeps about its database inside the database itself."""

from __future__ import annotations

import uuid

from django.db import models


class DatabaseIdentity(models.Model):
    """One row: which database this is. Written when the hub first runs on it, and written
    fresh by a transfer as its very last step on the target, so a target with this row holds
    a complete hub database; a moved location is recognised by the same identity."""

    database_id = models.UUIDField(default=uuid.uuid4, unique=True)
    hub_installation = models.CharField(max_length=64, help_text="The installation that wrote it.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.database_id)


class InstanceLease(models.Model):
    """One row: the installation allowed to process on this database (the *instance lease*;
    not the engine's per-integration run leases)."""

    holder = models.CharField(max_length=64)
    holder_label = models.CharField(max_length=200, blank=True)
    holder_host = models.CharField(max_length=200, blank=True)
    taken_at = models.DateTimeField()
    renewed_at = models.DateTimeField()
    generation = models.PositiveIntegerField(default=1)
    how = models.CharField(max_length=20, default="start")  # start, takeover, override, transfer

    def __str__(self) -> str:
        return f"{self.holder} (generation {self.generation})"


class CacheEntry(models.Model):
    """The database cache's table (``createcachetable``), declared so a transfer copies it
    like any other table. Not managed: Django's cache framework creates and owns it."""

    cache_key = models.CharField(max_length=255, primary_key=True)
    value = models.TextField()
    expires = models.DateTimeField(db_index=True)

    class Meta:
        managed = False
        db_table = "hub_cache"

    def __str__(self) -> str:
        return self.cache_key
