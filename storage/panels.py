"""The Storage panel of the Settings screen."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from storage import services
from tasktop_hub.panels import Panel, register_panel


@register_panel("storage")
def storage_panel(request: HttpRequest) -> Panel:
    st = services.status()
    lease = st["instance_lease"]
    rows = [("Operational database", st["database"]), ("Vendor and version", f"{st['vendor']} {st['server_version']}"),
            ("Configured by", "DATABASE_URL (managed by the environment)" if st["managed_by_environment"]
             else "HUB_HOME/db/hub-db.json" if not st["internal"] else "HUB_HOME (internal database)"),
            ("Instance lease holder", f"{lease['holder_label'] or lease['holder']} on {lease['holder_host']}"
             + (" (this installation)" if lease["held_by_this_installation"] else ""))]
    last = st["last_transfer"]
    if last:
        rows.append(("Last transfer", f"job {last['job']}: {last['status']} ({last['created_at'][:19]})"
                     + (f" — {last['error']}" if last["error"] else "")))
    if st["backup"]:
        rows.append(("Internal database backup", st["backup"]))
    links = []
    if not settings.HUB_DATABASE_MANAGED_BY_ENV:
        links.append(("Use External Database" if st["internal"] else "Change database", reverse("hub-storage-external")))
    if lease["lost_reason"]:
        links.append(("Override database access", reverse("hub-storage-override")))
    warning = lease["lost_reason"] or st["transfer_running"] or ""
    note = ("The database is managed by the environment (DATABASE_URL); no transfer is offered here."
            if settings.HUB_DATABASE_MANAGED_BY_ENV else
            "Oracle and SQL Server are supported through their Django backends but not verified against a live server.")
    return Panel(key="storage", title="Storage Settings", rows=rows, links=links, warning=warning, note=note)
