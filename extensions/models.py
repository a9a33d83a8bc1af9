"""Extension scripts (sandboxed JavaScript) and every saved version of each."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Extension(models.Model):
    class Type(models.TextChoices):
        TRANSFORM = "transform", "Custom data transformation"
        PAYLOAD = "payload", "Payload transformation"
        PERSON = "person", "Person reconciliation"
        STATE = "state", "State transition"

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    type = models.CharField(max_length=20, choices=Type.choices)
    source = models.TextField(help_text="JavaScript defining the type's entry function (see docs/extensions.md).")
    version = models.PositiveIntegerField(default=1, help_text="Raised at every saved change of the source.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class ExtensionVersion(models.Model):
    """The source as it was at each version, so an error naming a version can be looked up."""

    extension = models.ForeignKey(Extension, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    source = models.TextField()
    saved_at = models.DateTimeField(auto_now_add=True)
    saved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        ordering = ["extension", "-version"]
        constraints = [models.UniqueConstraint(fields=["extension", "version"], name="extension_version_once")]

    def __str__(self) -> str:
        return f"{self.extension.name} v{self.version}"
