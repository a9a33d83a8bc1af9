"""Trusted license issuers: ``HUB_LICENSE_TRUSTED_KEYS`` plus the file ``HUB_HOME/trusted_issuers``.

The file is read on every use, so a key added with ``manage.py license trust PUBLIC_KEY`` (or on
the setup page) counts at once in every process, without a restart and without exporting the
variable in each terminal. One public key per line (base64 or a one-line PEM body); ``#``
starts a comment. Adding one is audited (``license.issuer_trusted``).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from licensing import keys
from notifications.services import Actor, record_audit
from tasktop_hub.home import write_private_file

FILE_NAME = "trusted_issuers"


def path() -> Path:
    return Path(settings.HUB_HOME) / FILE_NAME


def file_key_texts() -> list[str]:
    try:
        lines = path().read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


def all_key_texts() -> list[str]:
    """The environment's keys first, then the file's."""
    return [*(getattr(settings, "HUB_LICENSE_TRUSTED_KEYS", []) or []), *file_key_texts()]


def trust(actor: Actor, text: str) -> tuple[str, bool]:
    """Add an issuer's public key to the file; returns (its key id, whether it was new)."""
    try:
        public = keys.load_public_key(text.strip())
    except ValueError as exc:
        raise ValidationError({"public_key": f"Not an Ed25519 public key: {exc}"}) from None
    kid = keys.key_id(public)
    known = set()
    for existing in all_key_texts():
        try:
            known.add(keys.key_id(keys.load_public_key(existing)))
        except ValueError:
            continue
    if kid in known:
        return kid, False
    lines = file_key_texts()
    body = "".join(f"{line}\n" for line in [*lines, keys.public_key_text(public)])
    with transaction.atomic():
        record_audit(actor, "license.issuer_trusted", kid, source=str(path()))
        # Written whole (0600) inside the transaction: if the audit row fails, the file is unchanged.
        write_private_file(path(), ("# License issuers this hub trusts (manage.py license trust)\n" + body).encode())
    return kid, True
