"""The license summary for the support report (registered from licensing/apps.py)."""

from __future__ import annotations

from typing import Any

from licensing import services


def summary() -> dict[str, Any]:
    st = services.state()
    lic = st.license
    return {
        "state": st.state, "days_left": st.days_left, "active_users": st.active_users,
        "license": None if lic is None else {
            "type": lic.license_type, "licensee": lic.licensee, "issuer": lic.issuer, "max_users": lic.max_users,
            "created": lic.created, "expires": lic.expires, "id": lic.license_id},
    }


def register() -> None:
    from tasktop_hub import support

    support.register_section("license", summary)
