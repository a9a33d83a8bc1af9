"""The "Master Password Configuration" panel of the Settings screen."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from settings_app.security import master_password
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
