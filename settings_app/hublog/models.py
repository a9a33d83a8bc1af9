"""The logging level every hub process follows: Normal, or Troubleshooting until a time."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class LoggingLevel(models.Model):
    SINGLETON_PK = 1

    # Troubleshooting while now < troubleshoot_until; Normal otherwise (also when empty).
    troubleshoot_until = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(auto_now=True)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        app_label = "settings_app"
        verbose_name = "logging level"

    def __str__(self) -> str:
        return f"troubleshooting until {self.troubleshoot_until}" if self.troubleshoot_until else "normal"
