from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from settings_app import limits


class HubSettings(models.Model):
    """The global settings: one row (pk=1), created with defaults on first read."""

    SINGLETON_PK = 1

    instance_label = models.CharField(
        max_length=100,
        blank=True,
        help_text="Shown in the admin header and in emails, e.g. 'Production' or 'Test'.",
    )
    change_detection_interval = models.PositiveIntegerField(
        default=60,
        validators=[limits.validate_change_detection],
        help_text=f"Seconds between change-detection polls; {limits.CHANGE_DETECTION.allowed()}.",
    )
    full_scan_enabled = models.BooleanField(
        default=True, help_text="Turn full scans off everywhere unless an override turns them on."
    )
    full_scan_interval = models.PositiveIntegerField(
        default=86_400,
        validators=[limits.validate_full_scan],
        help_text=f"Seconds between full scans; {limits.FULL_SCAN.allowed()}.",
    )
    max_concurrency = models.PositiveIntegerField(
        "integration maximum concurrency",
        default=10,
        validators=[limits.validate_concurrency],
        help_text=f"Artifacts of one integration processed at once; {limits.CONCURRENCY.allowed()}.",
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "global settings"
        verbose_name_plural = "global settings"

    def __str__(self) -> str:
        return "Global settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = self.SINGLETON_PK
        super().save(*args, **kwargs)


class VaultKey(models.Model):
    """The data key of the vault, wrapped by the master password (one row; see settings_app.security.vault).

    Nothing here is usable without the master password: ``wrapped_key`` is AES-256-GCM under a
    scrypt-derived key whose parameters and salt are the other columns.
    """

    SINGLETON_PK = 1

    key_id = models.CharField(max_length=32, help_text="Random id of the data key; every ciphertext names it.")
    wrapped_key = models.BinaryField()
    kdf_salt = models.BinaryField()
    kdf_n = models.PositiveIntegerField()
    kdf_r = models.PositiveSmallIntegerField()
    kdf_p = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True, help_text="When this data key was created (set or reset).")
    changed_at = models.DateTimeField(auto_now=True, help_text="When the master password last changed.")

    class Meta:
        verbose_name = "vault key"

    def __str__(self) -> str:
        return f"Vault data key {self.key_id}"
