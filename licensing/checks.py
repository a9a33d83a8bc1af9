"""System checks of the licensing settings (ids hub.E111 / hub.W111)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register

from licensing import keys, trust


@register("hub")
def check_trusted_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    trusted = trust.all_key_texts()
    for index, text in enumerate(trusted):
        try:
            keys.load_public_key(text)
        except ValueError as exc:
            errors.append(Error(f"Trusted issuer key {index + 1} (HUB_LICENSE_TRUSTED_KEYS, then HUB_HOME/trusted_issuers) "
                                f"is not usable: {exc}.",
                                hint="Use the public key printed by `manage.py license keygen`.", id="hub.E111"))
    if not trusted:
        errors.append(Warning(
            "No license issuer is trusted: no license key can be applied.",
            hint="Run `manage.py license trust PUBLIC_KEY` with your issuer's public key (or set "
                 "HUB_LICENSE_TRUSTED_KEYS); see docs/security.md.", id="hub.W111",
        ))
    return errors
