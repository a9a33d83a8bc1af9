"""Panels this app contributes to the Settings screen."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from settings_app.limits import describe_seconds
from settings_app.services import get_settings
from tasktop_hub.panels import Panel, register_panel


@register_panel("polling")
def polling_panel(request: HttpRequest) -> Panel:
    hub = get_settings()
    full_scan = describe_seconds(hub.full_scan_interval) if hub.full_scan_enabled else "Disabled"
    return Panel(
        key="polling",
        title="Change Detection Interval Configuration",
        rows=[
            ("Instance label", hub.instance_label or "—"),
            ("Change detection interval", describe_seconds(hub.change_detection_interval)),
            ("Full scan interval", full_scan),
            ("Integration maximum concurrency", str(hub.max_concurrency)),
        ],
        links=[("Change", reverse("admin:settings_app_hubsettings_change", args=[hub.pk]))],
        note="Integrations and connections can override the intervals; the integration's value wins.",
    )
