"""Panels this app contributes to the Settings screen."""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import connection
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
        title="Change Detection Interval Configuration",
        rows=[(s.label, s.display(getattr(hub, s.name))) for s in runtime.in_section("polling")],
        links=[("Change", reverse("admin:settings_app_hubsettings_change", args=[hub.pk]))],
        note="Integrations and connections can override the intervals; the integration's value wins.",
    )


@register_panel("storage")
def storage_panel(request: HttpRequest) -> Panel:
    db = django_settings.DATABASES["default"]
    if connection.vendor == "sqlite":
        where = f"Internal database (SQLite): {db['NAME']}"
    else:
        where = f"External {connection.vendor} database {db.get('NAME')} on {db.get('HOST') or 'localhost'}"
    source = "DATABASE_URL (managed by the environment)" if django_settings.HUB_DATABASE_MANAGED_BY_ENV else "HUB_HOME"
    return Panel(
        key="storage",
        title="Storage Settings",
        rows=[("Operational database", where), ("Configured by", source)],
        note="Transferring to an external database from here is not built yet; set DATABASE_URL before first start.",
    )
