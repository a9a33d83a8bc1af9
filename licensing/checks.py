"""System checks of the licensing settings (ids hub.E111 / hub.W111)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.checks import CheckMessage, Error, Warning, register

from licensing import keys, trust

# hub.W111 is printed where someone can act on it: `check`, and the commands that start the hub.
# Every other command (masterpassword, license, migrate …) runs the checks too; warning there,
# before the first start could even trust an issuer, only taught people to ignore it. The License
# panel shows the same fact ("Trusted issuers: none").
W111_COMMANDS = ("check", "serve", "runserver")


def _warn_untrusted() -> bool:
    return len(sys.argv) > 1 and sys.argv[1] in W111_COMMANDS


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
    if not trusted and _warn_untrusted():
        errors.append(Warning(
            "No license issuer is trusted yet: a license key can only be applied together with its issuer's "
            "public key.",
            hint="Paste the issuer's public key beside the license key on /admin/setup/ (or run `manage.py license "
                 "trust PUBLIC_KEY`, or set HUB_LICENSE_TRUSTED_KEYS); see docs/security.md.", id="hub.W111",
        ))
    return errors
