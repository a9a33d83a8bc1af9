"""The "License" panel of the Settings screen: every field, or "unlicensed"."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from licensing import keys, services, trust
from tasktop_hub.panels import Panel, register_panel


def _issuers_row() -> tuple[str, str]:
    """Which issuers this hub trusts, by key id and where each is configured."""
    env = set(getattr(settings, "HUB_LICENSE_TRUSTED_KEYS", []) or [])
    shown = []
    for text in trust.all_key_texts():
        try:
            kid = keys.key_id(keys.load_public_key(text))
        except ValueError:
            kid = "unreadable key"
        shown.append(f"{kid} ({'environment' if text in env else 'HUB_HOME/trusted_issuers'})")
    none = ("none: paste the issuer's public key with the key under Apply new license, or run "
            "`./manage.py license trust PUBLIC_KEY`")
    return ("Trusted issuers", ", ".join(shown) or none)


@register_panel("license")
def license_panel(request: HttpRequest) -> Panel:
    st = services.state()
    apply_link = [("Apply new license", reverse("hub-license-apply"))]
    if st.license is None:
        return Panel(key="license", title="License", rows=[("Status", "Unlicensed"), _issuers_row()],
                     links=apply_link,
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
            _issuers_row(),
        ],
        links=apply_link,
        warning=st.warning,
    )
