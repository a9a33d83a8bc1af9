"""System checks of the security settings (ids hub.E1xx / hub.W1xx)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from settings_app import vault


@register("hub")
def check_security_settings(app_configs: Any = None, **kwargs: Any) -> list:
    errors: list = []
    n = getattr(settings, "HUB_VAULT_SCRYPT_N", vault.PRODUCTION_SCRYPT_N)
    if not isinstance(n, int) or n < vault.MIN_SCRYPT_N or n & (n - 1):
        errors.append(Error(
            f"HUB_VAULT_SCRYPT_N is {n!r}; it must be a power of two of at least {vault.MIN_SCRYPT_N} "
            f"(default {vault.PRODUCTION_SCRYPT_N}).",
            hint="Lower values make the master password cheaper to guess.",
            id="hub.E102",
        ))
    from licensing import keys

    trusted = getattr(settings, "HUB_LICENSE_TRUSTED_KEYS", []) or []
    for index, text in enumerate(trusted):
        try:
            keys.load_public_key(text)
        except ValueError as exc:
            errors.append(Error(f"HUB_LICENSE_TRUSTED_KEYS entry {index + 1} is not usable: {exc}.",
                                hint="Use the public key printed by `manage.py license keygen`.", id="hub.E111"))
    if not trusted:
        errors.append(Warning(
            "HUB_LICENSE_TRUSTED_KEYS is empty: no license key can be applied.",
            hint="Set it to your license issuer's public key(s); see docs/security.md.", id="hub.W111",
        ))
    return errors
