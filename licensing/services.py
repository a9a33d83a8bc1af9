"""Licensing: apply a key, the license in force, expiry, and the user limit (issue 3).

Expiry is read through :mod:`licensing.clock`. An expired (or missing) license blocks all
processing through a condition (``tasktop_hub.conditions``), which raises one Activity issue; applying a
valid license resolves it and processing resumes on the engine's next pass.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model

from licensing import clock, keys, trust
from licensing.models import License
from notifications.services import Actor, raise_issue, record_audit, resolve_issue, user_or_none
from tasktop_hub import conditions

log = logging.getLogger(__name__)

ISSUE_EXPIRED = "license.expired"
ISSUE_MISSING = "license.missing"
ISSUE_OVER_LIMIT = "license.users-over-limit"
EXPIRY_WARNING_DAYS = 30


class UserLimitReached(ValidationError):
    pass


def trusted_keys() -> list[Ed25519PublicKey]:
    """The issuer keys from HUB_LICENSE_TRUSTED_KEYS and HUB_HOME/trusted_issuers (read now: no restart
    needed after ``license trust``); unreadable entries are skipped (check hub.E111)."""
    out = []
    for text in trust.all_key_texts():
        try:
            out.append(keys.load_public_key(text))
        except ValueError:
            log.error("A trusted issuer key (HUB_LICENSE_TRUSTED_KEYS or trusted_issuers) is not an Ed25519 "
                      "public key; it is ignored.")
    return out


def _genuine(lic: License, trusted: list[Ed25519PublicKey]) -> bool:
    """The row still matches its signed key: editing license columns in the database gains nothing."""
    try:
        doc = keys.verify(lic.key, trusted, None)
    except keys.LicenseKeyError:
        return False
    return (doc.type, doc.description, doc.max_users, doc.created, doc.expires, doc.issuer, doc.licensee) == (
        lic.license_type, lic.description, lic.max_users, lic.created, lic.expires, lic.issuer, lic.licensee)


def current() -> License | None:
    """The newest applied license whose signed key still verifies against the trusted issuers."""
    trusted = trusted_keys()
    for lic in License.objects.order_by("-applied_at", "-pk")[:20]:
        if _genuine(lic, trusted):
            return lic
        log.error("License row %s does not match a key signed by a trusted issuer; it is ignored.", lic.pk)
    return None


def is_expired(lic: License) -> bool:
    return lic.expires < clock.today()


@dataclass(frozen=True)
class LicenseState:
    license: License | None
    state: str  # unlicensed | valid | expired
    days_left: int | None
    active_users: int

    @property
    def warning(self) -> str:
        if self.state == "expired":
            assert self.license is not None
            return (f"Your license expired on {self.license.expires.isoformat()}. No artifacts are processed in any "
                    "integration until a new license is applied.")
        if self.state == "valid" and self.days_left is not None and self.days_left < EXPIRY_WARNING_DAYS:
            return f"Your license expires in {self.days_left} day(s). Apply a renewed license in time."
        if self.license and self.active_users > self.license.max_users:
            return (f"{self.active_users} active users exceed the license's maximum of {self.license.max_users}. "
                    "Deactivate users or apply a license for more users.")
        return ""


def active_user_count(exclude_pk: int | str | None = None) -> int:
    qs = get_user_model()._default_manager.filter(is_active=True)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs.count()


def state() -> LicenseState:
    lic = current()
    users = active_user_count()
    if lic is None:
        return LicenseState(None, "unlicensed", None, users)
    days_left = (lic.expires - clock.today()).days
    return LicenseState(lic, "expired" if days_left < 0 else "valid", days_left, users)


def apply_license(actor: Actor, text: str, issuer_public_key: str = "") -> License:
    """Verify and apply a key. On any refusal the license in force stays, untouched.

    ``issuer_public_key``: the public key of the issuer that signed ``text``, when this hub does not
    trust it yet (first start, a new vendor). It is trusted (``licensing.trust``, audited) only if it
    is the key's signer and the key is applied, in the same transaction: a refused key trusts nothing.
    """
    offered = _offered_issuer(issuer_public_key)
    try:
        document = keys.verify(text, trusted_keys() + ([offered] if offered else []), clock.today())
    except keys.UntrustedIssuer as exc:
        raise ValidationError(_not_the_signer(offered) if offered else {"key": str(exc)}) from None
    except keys.LicenseKeyError as exc:
        raise ValidationError({"key": str(exc)}) from None
    if offered is not None and document.key_id != keys.key_id(offered):
        raise ValidationError(_not_the_signer(offered))
    with transaction.atomic():
        lic = License.objects.create(
            key="".join(text.split()), license_id=document.id, license_type=document.type,
            description=document.description, max_users=document.max_users, created=document.created,
            expires=document.expires, issuer=document.issuer, licensee=document.licensee,
            issuer_key_id=document.key_id,
            applied_by=user_or_none(actor),
        )
        record_audit(actor, "license.apply", f"license:{lic.pk}", license_id=document.id, licensee=document.licensee,
                     expires=document.expires.isoformat(), max_users=document.max_users)
        resolve_issue(ISSUE_EXPIRED)
        resolve_issue(ISSUE_MISSING)
        _sync_user_limit_issue(lic)
        if offered is not None:
            # Last in the transaction: the file is written only once everything else succeeded.
            trust.trust(actor, keys.public_key_text(offered))
    return lic


def _not_the_signer(offered: Ed25519PublicKey) -> dict[str, str]:
    return {"issuer_public_key": (
        f"This public key (issuer key id {keys.key_id(offered)}) did not sign the license key. Paste the public key "
        "that came with the license key.")}


def _offered_issuer(text: str) -> Ed25519PublicKey | None:
    if not text.strip():
        return None
    try:
        return keys.load_public_key(text.strip())
    except ValueError as exc:
        raise ValidationError({"issuer_public_key": (
            f"Not an issuer public key ({exc}). Paste the public key exactly as printed by "
            "`manage.py license keygen` or sent by the issuer.")}) from None


def _sync_user_limit_issue(lic: License) -> None:
    users = active_user_count()
    if users > lic.max_users:
        raise_issue(ISSUE_OVER_LIMIT, "More active users than the license allows",
                    f"{users} active users; the license allows {lic.max_users}. New users cannot be created or "
                    "activated until the count is below the limit.", severity="warning")
    else:
        resolve_issue(ISSUE_OVER_LIMIT)


def check_user_activation(user: Any) -> None:
    """Refuse creating or activating ``user`` beyond the license's maximum users.

    Called from the user model's pre_save (every road: admin, API, createsuperuser, shell).
    Without a license there is no limit yet: the first administrator is created before it.
    """
    if not getattr(user, "is_active", False):
        return
    model: type[Model] = type(user)
    pk = getattr(user, "pk", None)
    if pk is not None and model._default_manager.filter(pk=pk, is_active=True).exists():
        return  # already active: an ordinary edit
    lic = current()
    if lic is None:
        return
    others = active_user_count(exclude_pk=pk)
    if others >= lic.max_users:
        raise UserLimitReached(
            f"The license allows {lic.max_users} active user(s) and {others} are active; this user cannot be "
            "created or activated. Deactivate a user or apply a license for more users.",
            code="user_limit",
        )


def missing_reason() -> str | None:
    """Why no license allows processing (none applied, or expired), or None."""
    return unlicensed_reason() or expired_reason()


def unlicensed_reason() -> str | None:
    if current() is None:
        return "No license is applied. Apply one on the setup page, /admin/setup/."
    return None


def expired_reason() -> str | None:
    lic = current()
    if lic is not None and is_expired(lic):
        return (f"The license expired on {lic.expires.isoformat()}; apply a new license to resume processing "
                "(Settings → License → Apply new license, /admin/security/license/apply/).")
    return None


def _expired_issue_message(reason: str) -> str:
    lic = current()
    if lic is None:
        return reason
    return (f"The license for {lic.licensee} expired on {lic.expires.isoformat()}. No artifacts are processed "
            "in any integration until a new license is applied (integrations keep their Run/Stopped state).")


def setup_needed() -> str | None:
    if License.objects.exists() and current() is not None:
        return None
    return ("No license is applied. Apply one: open /admin/setup/, or POST /api/v1/license/, or run "
            "`manage.py license apply`.")


def _healthy_message() -> str:
    lic = current()
    return f"Valid through {lic.expires.isoformat()} for {lic.licensee}" if lic else "No license"


# Where a license key comes from, said on the setup page (a newcomer has none yet).
LICENSE_SOURCES = (
    "A license key starts with 'TTHUB1.' and comes from your vendor, together with the issuer's public key: paste "
    "both below. To evaluate the hub with a license you issue yourself, run these in the repository — the first "
    "prints the issuer's public key (keep the .pem file off the hub), the second the license key — and paste both, "
    "or add --apply to the second to apply the key there:"
)


def self_issue_commands() -> list[str]:
    """The commands that issue an evaluation license for this hub, valid for a year from today."""
    expires = clock.today() + timedelta(days=365)
    return ["./manage.py license keygen --out ~/hub-issuer.pem",
            "./manage.py license issue --key ~/hub-issuer.pem --licensee \"Your team\" --issuer \"Your team\" "
            f"--max-users 10 --expires {expires.isoformat()}"]


def register_conditions() -> None:
    """No license, and an expired one, as conditions that stop processing (from LicensingConfig.ready)."""
    from django.urls import reverse

    from licensing.views import ApplyLicenseForm

    conditions.register(conditions.Condition(
        key="license", reason=unlicensed_reason, issue_key=ISSUE_MISSING,
        issue_title="No license: nothing is processed", healthy_message=_healthy_message,
        setup=conditions.SetupStep(
            needed=setup_needed, title="License", form_class=lambda: ApplyLicenseForm,
            action_url=lambda: reverse("hub-license-apply"), submit="Apply new license", done="applied ✓",
            intro=LICENSE_SOURCES, commands=self_issue_commands,
        ),
    ))
    conditions.register(conditions.Condition(
        key="license_expired", reason=expired_reason, issue_key=ISSUE_EXPIRED, issue_title="License expired",
        issue_message=_expired_issue_message, healthy_message=lambda: "Not expired",
    ))
