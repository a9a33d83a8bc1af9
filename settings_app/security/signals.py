"""Signal wiring for encrypted fields (connected in SettingsAppConfig.ready)."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_save

from settings_app.security.fields import EncryptedField, Sealed, encrypted_fields


def _secret_saved(sender: type[models.Model], instance: models.Model, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    touched = any(
        isinstance(f, EncryptedField) and f.model is sender and not isinstance(instance.__dict__.get(f.attname), Sealed)
        for f in sender._meta.concrete_fields
    )
    if touched:
        from settings_app.security.master_password import secret_reentered

        transaction.on_commit(secret_reentered)


def connect() -> None:
    for model in {f.model for f in encrypted_fields()}:
        post_save.connect(_secret_saved, sender=model, dispatch_uid=f"secret-saved-{model._meta.label_lower}")
