"""The "License" panel of the Settings screen: every field, or "unlicensed"."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse

from licensing import services
from tasktop_hub.panels import Panel, register_panel


@register_panel("license")
def license_panel(request: HttpRequest) -> Panel:
    st = services.state()
    apply_link = [("Apply new license", reverse("hub-license-apply"))]
    if st.license is None:
        return Panel(key="license", title="License", rows=[("Status", "Unlicensed")], links=apply_link,
                     warning="No license is applied. The hub cannot be used until a license is applied.")
    lic = st.license
    status = "Expired" if st.state == "expired" else f"Valid ({st.days_left} day(s) left)"
    return Panel(
        key="license",
        title="License",
        rows=[
            ("Status", status),
            ("License Type", lic.license_type),
            ("Description", lic.description or "—"),
            ("Maximum Users", f"{lic.max_users} ({st.active_users} active)"),
            ("Created Date", lic.created.isoformat()),
            ("Expiration Date", lic.expires.isoformat()),
            ("Issuer", lic.issuer),
            ("Licensee", lic.licensee),
        ],
        links=apply_link,
        warning=st.warning,
    )
