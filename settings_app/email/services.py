"""Email notification settings: save, turn on/off, delete (each audited), test a connection.

The digest itself is in :mod:`settings_app.email.digest`.
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from notifications.services import Actor, record_audit
from settings_app.email import transport
from settings_app.email.models import EmailSettings

# The fields a person edits (the password is separate: write-only).
FIELDS = ("to_address", "from_address", "subject_prefix", "server_url", "frequency_minutes", "username", "host",
          "port", "timeout", "protocol", "ca_bundle")
TARGET = "email notifications"


def get() -> EmailSettings | None:
    return EmailSettings.objects.filter(pk=EmailSettings.SINGLETON_PK).first()


def _validate(obj: EmailSettings) -> None:
    obj.full_clean(exclude=["password"])
    if "," in obj.to_address or ";" in obj.to_address:
        raise ValidationError({"to_address": "Give exactly one email address."})
    if not obj.server_url.lower().startswith(("http://", "https://")):
        raise ValidationError({"server_url": "The hub server URL must be an absolute http:// or https:// URL."})
    try:
        transport.validate_ca_bundle(obj.ca_bundle)
    except transport.MailError as exc:
        raise ValidationError({"ca_bundle": str(exc)}) from None


def build(values: dict[str, Any], password: str | None = None, base: EmailSettings | None = None) -> EmailSettings:
    """An unsaved settings object: ``base`` (or the defaults) with ``values`` applied, validated.

    ``password`` None keeps the base's password; "" clears it.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValidationError({name: f"Unknown email setting. Settings are: {', '.join(FIELDS)}." for name in unknown})
    obj = EmailSettings(pk=EmailSettings.SINGLETON_PK)
    if base is not None:
        for name in (*FIELDS, "enabled", "vault_uid", "covered_until", "last_success_at", "last_attempt_at",
                     "last_failure", "last_failure_at"):
            setattr(obj, name, getattr(base, name))
        obj.__dict__["password"] = base.__dict__.get("password")  # still sealed: not decrypted for a copy
        obj._state.adding = False  # the same row: unique checks must not see itself
    for name, value in values.items():
        setattr(obj, name, value)
    if password is not None:
        obj.password = password
    _validate(obj)
    return obj


def save(actor: Actor, values: dict[str, Any], password: str | None = None) -> EmailSettings:
    """Create ("Add Email Server") or change the settings. Notifications stay off until turned on."""
    with transaction.atomic():
        current = EmailSettings.objects.select_for_update().filter(pk=EmailSettings.SINGLETON_PK).first()
        obj = build(values, password, base=current)
        before = {name: getattr(current, name) for name in FIELDS} if current else {}
        obj.save()
        changed = sorted(n for n in FIELDS if before.get(n) != getattr(obj, n)) if current else sorted(values)
        if password is not None:
            changed.append("password")
        record_audit(actor, "email.create" if current is None else "email.update", TARGET, fields=changed)
    return obj


def set_enabled(actor: Actor, enabled: bool) -> EmailSettings:
    with transaction.atomic():
        obj = EmailSettings.objects.select_for_update().filter(pk=EmailSettings.SINGLETON_PK).first()
        if obj is None:
            raise ValidationError("Add an email server first (Settings → Email Notifications).")
        obj.enabled = enabled
        if enabled and obj.covered_until is None:
            obj.covered_until = timezone.now()  # the first digest covers what happens from now on
        obj.save(update_fields=["enabled", "covered_until", "updated_at"])
        record_audit(actor, "email.on" if enabled else "email.off", TARGET)
    if not enabled:
        _sync_issue()  # off: a failure issue has nothing left to say
    return obj


def delete(actor: Actor) -> bool:
    with transaction.atomic():
        count, _ = EmailSettings.objects.filter(pk=EmailSettings.SINGLETON_PK).delete()
        if count:
            record_audit(actor, "email.delete", TARGET)
    _sync_issue()
    return bool(count)


def _sync_issue() -> None:
    from notifications.services import sync_condition_issues

    sync_condition_issues(keys=[CONDITION_KEY])


def test_message(obj: EmailSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = obj.from_address, obj.to_address
    message["Subject"] = f"{obj.subject_prefix} Test email".strip()
    message.set_content("This test email shows that the hub can send its notifications to this address.\n")
    return message


def test_connection(values: dict[str, Any] | None = None, password: str | None = None,
                    send_test_email: bool = False) -> transport.CheckResult:
    """Connect, negotiate TLS and authenticate with the saved settings overlaid with ``values``
    (unsaved form values); send a test email only when asked. Never sends the digest."""
    obj = build(values or {}, password, base=get())
    return transport.check(obj.server_config(), test_message(obj) if send_test_email else None)


# --- the failure condition (Activity issue through the condition registry) ------------------

CONDITION_KEY = "email-notifications"
ISSUE_KEY = "notifications.email-failed"


def failure_reason() -> str | None:
    """The last digest failed (and nothing has succeeded since) while notifications are on."""
    obj = get()
    if obj is None or not obj.enabled or not obj.last_failure_at:
        return None
    if obj.last_success_at and obj.last_success_at >= obj.last_failure_at:
        return None
    return f"The email notification could not be sent: {obj.last_failure}"


def register_condition() -> None:
    from tasktop_hub import conditions

    conditions.register(conditions.Condition(
        key=CONDITION_KEY, reason=failure_reason, issue_key=ISSUE_KEY, issue_title="Email notification failed",
        health=False, blocks=False,
    ))
