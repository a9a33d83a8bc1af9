"""System checks of the vault's settings (ids hub.E10x)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from settings_app.security import vault


@register("hub")
def check_vault_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    n = getattr(settings, "HUB_VAULT_SCRYPT_N", vault.PRODUCTION_SCRYPT_N)
    if not isinstance(n, int) or n < vault.MIN_SCRYPT_N or n & (n - 1):
        errors.append(Error(
            f"HUB_VAULT_SCRYPT_N is {n!r}; it must be a power of two of at least {vault.MIN_SCRYPT_N} "
            f"(default {vault.PRODUCTION_SCRYPT_N}).",
            hint="Lower values make the master password cheaper to guess.",
            id="hub.E102",
        ))
    return errors
