"""Master password services: set, enter, change, reset, status (DESIGN §6, issue 3).

Every state change is here, atomic and audited; the Settings screen, the API and
``manage.py masterpassword`` are thin callers. Validation failures raise Django
``ValidationError`` keyed by the input field, so every caller shows the same message.
Passwords never reach a log line, an audit row, an exception message or an issue.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from notifications.services import Actor, raise_issue, record_audit, resolve_issue
from settings_app.models import VaultKey
from settings_app.security import password_store, vault
from settings_app.security.fields import EMPTY, encrypted_fields
from tasktop_hub import conditions

log = logging.getLogger(__name__)

ISSUE_MISSING = "security.master-password-missing"
ISSUE_WIPED = "security.secrets-wiped"


@dataclass(frozen=True)
class Status:
    configured: bool
    loaded: bool
    source: str | None  # environment | file | stored | entered
    stored_in_home: bool
    environment_override: str | None
    created_at: datetime | None
    changed_at: datetime | None
    scrypt_n: int | None

    @property
    def summary(self) -> str:
        if not self.configured:
            return "Not set"
        if not self.loaded:
            return "Set, but not loaded: enter it to unlock the stored credentials"
        return "Set and loaded"


def status() -> Status:
    row = VaultKey.objects.filter(pk=VaultKey.SINGLETON_PK).first()
    loaded = vault.ensure_loaded() if row else False
    return Status(
        configured=row is not None,
        loaded=loaded,
        source=vault.loaded_source() if loaded else None,
        stored_in_home=password_store.has_stored(),
        environment_override=password_store.environment_overrides(),
        created_at=row.created_at if row else None,
        changed_at=row.changed_at if row else None,
        scrypt_n=row.kdf_n if row else None,
    )


def _strong(password: str, field: str) -> None:
    try:
        vault.check_password_strength(password)
    except vault.WeakPassword as exc:
        raise ValidationError({field: str(exc)}) from None


def _confirm(password: str, confirmation: str | None, field: str) -> None:
    if confirmation is not None and confirmation != password:
        raise ValidationError({field: "The two passwords do not match."})


def _save_record(record: vault.WrappedKey) -> VaultKey:
    row, _ = VaultKey.objects.update_or_create(
        pk=VaultKey.SINGLETON_PK,
        defaults={"key_id": record.key_id, "wrapped_key": record.wrapped, "kdf_salt": record.salt,
                  "kdf_n": record.n, "kdf_r": record.r, "kdf_p": record.p},
    )
    return row


def _committed(password: str, key_id: str, data_key: bytes) -> None:
    """After commit: the new password becomes the stored one and this process's key."""
    try:
        password_store.promote_pending()
    except OSError:
        # The pending file still holds the new password; the next load promotes it.
        log.exception("Could not promote the pending master password file.")
    vault.install(key_id, data_key, "entered")


@contextmanager
def _committing_password(password: str) -> Iterator[None]:
    """Run the block in the transaction that makes ``password`` the vault's password.

    The password reaches the pending file first; if the transaction fails, the pending file is
    discarded and the old password keeps working (an interruption after the commit is handled
    by the pending file's promotion at the next load).
    """
    password_store.write_pending(password)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        password_store.discard_pending()
        raise


def set_password(actor: Actor, password: str, confirmation: str | None = None) -> Status:
    """First start: create the data key, wrapped by ``password``."""
    _strong(password, "password")
    _confirm(password, confirmation, "confirmation")
    record, data_key = vault.new_wrapped_key(password)
    with _committing_password(password):
        if VaultKey.objects.select_for_update().filter(pk=VaultKey.SINGLETON_PK).exists():
            raise ValidationError({"password": "A master password is already set. Change it (current password "
                                               "required) or reset it."})
        _save_record(record)
        record_audit(actor, "master_password.set", "vault", key_id=record.key_id)
        resolve_issue(ISSUE_MISSING)
    _committed(password, record.key_id, data_key)
    return status()


def enter_password(actor: Actor, password: str) -> Status:
    """The stored password is missing or wrong: unlock with the one the operator enters, and store it."""
    record = vault._record_from_db()
    if record is None:
        raise ValidationError({"password": "No master password has been set yet; set one first."})
    try:
        data_key = vault.unwrap(record, password)
    except vault.WrongPassword as exc:
        record_audit(actor, "master_password.enter_refused", "vault", reason="wrong password")
        raise ValidationError({"password": str(exc)}) from None
    password_store.store(password)
    with transaction.atomic():
        record_audit(actor, "master_password.enter", "vault", key_id=record.key_id)
        resolve_issue(ISSUE_MISSING)
    vault.install(record.key_id, data_key, "entered")
    return status()


def change_password(actor: Actor, current: str, new: str, confirmation: str | None = None) -> Status:
    """Re-wrap the data key with ``new``; every stored secret stays valid.

    Order matters for crash safety: the new password is written to the pending file, then the
    re-wrapped key is committed in one transaction, then the pending file is promoted. An
    interruption before the commit leaves the old password working; after it, the pending file
    carries the new one.
    """
    record = vault._record_from_db()
    if record is None:
        raise ValidationError({"current_password": "No master password has been set yet; set one first."})
    try:
        data_key = vault.unwrap(record, current)
    except vault.WrongPassword:
        # Failed attempts are audited: the trail shows someone guessing.
        record_audit(actor, "master_password.change_refused", "vault", reason="wrong current password")
        raise ValidationError({"current_password": "The current master password is not correct."}) from None
    _strong(new, "new_password")
    _confirm(new, confirmation, "confirmation")
    if new == current:
        raise ValidationError({"new_password": "The new master password must differ from the current one."})
    rewrapped = vault.wrap(data_key, record.key_id, new)
    with _committing_password(new):
        row = VaultKey.objects.select_for_update().get(pk=VaultKey.SINGLETON_PK)
        if row.key_id != record.key_id or bytes(row.wrapped_key) != record.wrapped:
            raise ValidationError({"current_password": "The master password was changed or reset meanwhile; "
                                                       "try again."})
        _save_record(rewrapped)
        record_audit(actor, "master_password.change", "vault", key_id=record.key_id)
        resolve_issue(ISSUE_MISSING)
    _committed(new, record.key_id, data_key)
    return status()


@dataclass(frozen=True)
class WipedSecret:
    model: str  # app_label.model
    pk: object
    field: str
    label: str


def _wipe_all_secrets() -> list[WipedSecret]:
    """Empty every encrypted field of every row; return what must be re-entered."""
    wiped: list[WipedSecret] = []
    for field in encrypted_fields():
        model = field.model
        rows = model._base_manager.exclude(**{field.attname: EMPTY})
        for obj in rows.select_for_update():
            wiped.append(WipedSecret(model._meta.label_lower, obj.pk, field.name, field.describe(obj)))
        rows.update(**{field.attname: EMPTY})
    return wiped


def reset_password(actor: Actor, new: str, confirmation: str | None = None) -> list[WipedSecret]:
    """Forgotten password: a new data key, every stored secret wiped, an issue listing them."""
    _strong(new, "new_password")
    _confirm(new, confirmation, "confirmation")
    record, data_key = vault.new_wrapped_key(new)
    with _committing_password(new):
        VaultKey.objects.select_for_update().filter(pk=VaultKey.SINGLETON_PK).exists()
        wiped = _wipe_all_secrets()
        _save_record(record)
        record_audit(actor, "master_password.reset", "vault", key_id=record.key_id,
                     wiped=[[w.model, w.pk, w.field] for w in wiped])
        resolve_issue(ISSUE_MISSING)
        if wiped:
            lines = "\n".join(f"• {w.label}" for w in wiped)
            raise_issue(
                ISSUE_WIPED,
                f"Master password reset: {len(wiped)} secret(s) must be re-entered",
                "The master password was reset, so every stored secret was wiped. Enter these again:\n" + lines,
            )
    _committed(new, record.key_id, data_key)
    return wiped


def secret_reentered() -> None:
    """Resolve the wipe issue once every secret it lists is set again (or its row is gone)."""
    from django.apps import apps

    from notifications.models import AuditEvent
    from notifications.services import open_issue
    from settings_app.security.fields import is_secret_set

    if open_issue(ISSUE_WIPED) is None:
        return
    event = AuditEvent.objects.filter(action="master_password.reset").order_by("-pk").first()
    for label, pk, field_name in (event.details.get("wiped", []) if event else []):
        model = apps.get_model(label)
        obj = model._base_manager.filter(pk=pk).first()
        if obj is not None and not is_secret_set(obj, field_name):
            return
    with transaction.atomic():
        resolve_issue(ISSUE_WIPED)


# --- the condition that stops processing ----------------------------------------------------------


def missing_reason() -> str | None:
    """Why secrets cannot be used now, or None."""
    if not VaultKey.objects.filter(pk=VaultKey.SINGLETON_PK).exists():
        return "No master password is set. Set it on the setup page, /admin/setup/."
    if not vault.ensure_loaded():
        return ("The master password is missing or wrong (not in HUB_HOME and not given by HUB_MASTER_PASSWORD / "
                "HUB_MASTER_PASSWORD_FILE). Enter it at /admin/security/master-password/enter/ (Settings → Master Password).")
    return None


def setup_needed() -> str | None:
    """First-run setup needs a master password until one is set (loading it is the gate's business)."""
    if VaultKey.objects.filter(pk=VaultKey.SINGLETON_PK).exists():
        return None
    return ("No master password is set. Set it first: open /admin/setup/, or POST /api/v1/security/master-password/set/, "
            "or run `manage.py masterpassword set`.")


def register_condition() -> None:
    """The master password as a condition that stops processing (called from SettingsAppConfig.ready)."""
    from django.urls import reverse

    from settings_app.security.views import SetForm

    conditions.register(conditions.Condition(
        key="master_password",
        reason=missing_reason,
        issue_key=ISSUE_MISSING,
        issue_title="Master password needed: nothing is processed",
        setup=conditions.SetupStep(
            needed=setup_needed, title="Master password", form_class=lambda: SetForm,
            action_url=lambda: reverse("hub-master-password", args=["set"]), submit="Set master password",
            done="set ✓",
            intro="It encrypts every stored credential (AES-256) and is kept encrypted outside the database, "
                  "in HUB_HOME.",
        ),
        healthy_message=lambda: "Set and loaded",
    ))
