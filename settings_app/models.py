from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from settings_app import runtime


class HubSettings(models.Model):
    """The global settings: one row (pk=1), created with defaults on first read."""

    SINGLETON_PK = 1

    # Each column comes from its declaration in settings_app/runtime.py (type, default, bounds, help).
    instance_label = runtime.BY_NAME["instance_label"].model_field()
    change_detection_interval = runtime.BY_NAME["change_detection_interval"].model_field()
    full_scan_enabled = runtime.BY_NAME["full_scan_enabled"].model_field()
    full_scan_interval = runtime.BY_NAME["full_scan_interval"].model_field()
    max_concurrency = runtime.BY_NAME["max_concurrency"].model_field()
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


# Models of the app's sub-packages, so Django's model loading sees them.
from settings_app.email.models import EmailSettings  # noqa: E402
from settings_app.hublog.models import LoggingLevel  # noqa: E402

__all__ = ["EmailSettings", "HubSettings", "LoggingLevel", "VaultKey"]
