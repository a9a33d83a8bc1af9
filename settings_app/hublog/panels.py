"""The "Logging" panel of the Settings screen: the level in force and, for Troubleshooting, its end."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from settings_app.hublog import services
from tasktop_hub.panels import Panel, register_panel


@register_panel("logging")
def logging_panel(request: HttpRequest) -> Panel:
    st = services.state()
    rows = [("Logging level", "Troubleshooting" if st.level == services.TROUBLESHOOTING else "Normal")]
    actions: list[tuple[str, str]] = []
    if st.until is not None:
        rows.append(("Troubleshooting ends", f"{st.until:%Y-%m-%d %H:%M} UTC"))
        actions.append(("Stop Troubleshooting Now", reverse("hub-logging-stop")))
    rows.append(("Normal level", settings.HUB_LOG_LEVEL))
    rows.append(("Log files", f"{settings.HUB_LOG_DIR}/hub.log (+{settings.HUB_LOG_BACKUPS} rotated, "
                              f"{settings.HUB_LOG_MAX_BYTES // (1024 * 1024)} MiB each)"))
    return Panel("logging", "Logging", rows=rows, actions=actions,
                 links=[("Troubleshoot", reverse("hub-logging-level")),
                        ("Download Support and Usage Report", reverse("hub-support-report"))],
                 note="A change applies to every running hub process within seconds, without a restart.")
