"""The "Email Notifications" panel of the Settings screen: real state and the actions."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from settings_app.email import services
from tasktop_hub.panels import Panel, register_panel


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"  # type: ignore[attr-defined]


@register_panel("email")
def email_panel(request: HttpRequest) -> Panel:
    obj = services.get()
    configure = reverse("hub-email-settings")
    if obj is None:
        return Panel("email", "Email Notifications", links=[("+ Add Email Server", configure)],
                     note="Emails count new errors and issues since the last one and link to the Activity screen.")
    rows = [("Notifications", "On" if obj.enabled else "Off"), ("To", obj.to_address),
            ("Server", f"{obj.protocol} {obj.host}:{obj.port or services.transport.DEFAULT_PORTS[obj.protocol]}"),
            ("Frequency", f"every {obj.frequency_minutes} minutes"), ("Last sent", _when(obj.last_success_at)),
            ("Last attempt", _when(obj.last_attempt_at))]
    warning = ""
    reason = services.failure_reason()
    if reason:
        warning = f"{reason} (at {_when(obj.last_failure_at)})"
    toggle = "off" if obj.enabled else "on"
    return Panel(
        "email", "Email Notifications", rows=rows, warning=warning,
        links=[("Configure Notification Settings", configure)],
        actions=[(f"Turn {toggle.title()} Notifications", reverse("hub-email-action", args=[toggle])),
                 ("Send Digest Now", reverse("hub-email-action", args=["send-now"])),
                 ("Delete", reverse("hub-email-action", args=["delete"]))],
    )
