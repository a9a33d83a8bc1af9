"""System checks of the licensing settings (ids hub.E111 / hub.W111)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

from licensing import keys


@register("hub")
def check_trusted_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
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
