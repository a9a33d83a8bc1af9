"""Applied licenses. The newest row is the license in force; older rows are the history."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class License(models.Model):
    key = models.TextField(help_text="The signed license key as applied (not secret: it is a signed document).")
    license_id = models.CharField(max_length=64, blank=True)
    license_type = models.CharField("license type", max_length=100)
    description = models.TextField(blank=True)
    max_users = models.PositiveIntegerField("maximum users")
    created = models.DateField("created date")
    expires = models.DateField("expiration date", help_text="Valid through this date (UTC).")
    issuer = models.CharField(max_length=200)
    licensee = models.CharField(max_length=200)
    issuer_key_id = models.CharField(max_length=16)
    applied_at = models.DateTimeField(auto_now_add=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-applied_at", "-pk"]
        get_latest_by = ["applied_at", "pk"]

    def __str__(self) -> str:
        return f"{self.license_type} license for {self.licensee} (expires {self.expires.isoformat()})"
