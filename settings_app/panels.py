"""Panels this app contributes to the Settings screen."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from settings_app import runtime
from settings_app.services import get_settings
from tasktop_hub.panels import Panel, register_panel


@register_panel("polling")
def polling_panel(request: HttpRequest) -> Panel:
    hub = get_settings()
    return Panel(
        key="polling",
        title="Configuration",
        rows=[(s.label, s.display(getattr(hub, s.name))) for s in runtime.in_section("polling")],
        links=[("Change", reverse("admin:settings_app_hubsettings_change", args=[hub.pk]))],
        note="Change detection and full scan intervals, the concurrency limit per integration, and the label "
             "shown in the header. Integrations and connections can override the intervals; the integration's "
             "value wins.",
    )
