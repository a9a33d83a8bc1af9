"""The "Master Password Configuration" panel of the Settings screen."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from notifications.models import AuditEvent
from settings_app.security import master_password
from settings_app.security.throttle import LOCKED_ACTION
from tasktop_hub import roles
from tasktop_hub.panels import Panel, register_panel

_SOURCES = {
    "environment": "HUB_MASTER_PASSWORD (environment)",
    "file": "HUB_MASTER_PASSWORD_FILE",
    "stored": "Stored encrypted in HUB_HOME",
    "entered": "Entered in this session (stored encrypted in HUB_HOME)",
}


@register_panel("master_password")
def master_password_panel(request: HttpRequest) -> Panel:
    st = master_password.status()
    rows = [("Master password", st.summary)]
    links: list[tuple[str, str]] = []
    warning = ""
    if st.configured:
        rows.append(("Loaded from", _SOURCES.get(st.source or "", "—")))
        rows.append(("Last changed", st.changed_at.strftime("%Y-%m-%d %H:%M UTC") if st.changed_at else "—"))
        rows.append(("Encryption", "AES-256-GCM; key wrapped with scrypt"))
        if not st.loaded:
            warning = ("The stored master password is missing or wrong: credentials cannot be decrypted and nothing is "
                       "processed. Enter the current master password.")
            links.append(("Enter master password", reverse("hub-master-password", args=["enter"])))
        else:
            links.append(("Change master password", reverse("hub-master-password", args=["change"])))
        links.append(("Reset master password", reverse("hub-master-password", args=["reset"])))
    else:
        warning = "No master password is set. The hub cannot be used until one is set."
        links.append(("Set master password", reverse("hub-master-password", args=["set"])))
    return Panel(
        key="master_password",
        title="Master Password Configuration",
        rows=rows,
        links=links,
        warning=warning,
        note="The master password encrypts repository credentials, proxy and mail passwords and other secrets. "
             "Changing it needs the current one and keeps every credential; resetting it wipes every stored "
             "credential, which must then be entered again.",
    )


@register_panel("sign_in")
def sign_in_panel(request: HttpRequest) -> Panel:
    """The throttling limits and the lockouts of the last day (administrators see who and from where)."""
    lockout_minutes = max(1, settings.HUB_SIGNIN_LOCKOUT_SECONDS // 60)
    rows = [
        ("Per account", f"{settings.HUB_SIGNIN_MAX_FAILURES_PER_ACCOUNT} failed sign-ins lock it for "
                        f"{lockout_minutes} min"),
        ("Per client address", f"{settings.HUB_SIGNIN_MAX_FAILURES_PER_ADDRESS} failed sign-ins lock it for "
                               f"{lockout_minutes} min"),
    ]
    since = timezone.now() - timedelta(days=1)
    lockouts = list(AuditEvent.objects.filter(action=LOCKED_ACTION, at__gte=since).order_by("-at")[:20])
    warning = ""
    if roles.has_role(request.user, roles.ADMINISTRATORS):
        for event in lockouts:
            until = event.at + timedelta(seconds=int(event.details.get("seconds", 0)))
            state = "locked" if until > timezone.now() else "expired"
            rows.append((f"Locked {event.at:%Y-%m-%d %H:%M} UTC", f"{event.target} ({state}; until {until:%H:%M} UTC)"))
    if lockouts:
        warning = f"{len(lockouts)} sign-in lockout(s) in the last 24 hours."
    return Panel(
        key="sign_in",
        title="Sign-in Protection",
        rows=rows,
        warning=warning,
        note="The admin login and POST /api/v1/auth/token/ refuse an account or client address after repeated "
             "failures (HUB_SIGNIN_* settings). Each lockout is in the audit trail (security.sign_in_locked).",
    )
