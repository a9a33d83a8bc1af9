"""Every page works without the internet: no request leaves the hub (air-gapped hubs are common),
none of the hub's own requests fails (no favicon 404), Swagger UI renders from the hub's own assets,
and every admin page has the seed's Settings button at the upper right."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = [
    "/admin/",
    "/admin/settings/",
    "/admin/activity/",
    "/admin/integrations/repositoryconnection/",
    "/admin/integrations/artifactpair/",
    "/admin/notifications/auditevent/",
    "/admin/settings_app/hubsettings/1/change/",
    "/api/v1/",
    "/api/docs/",
]


def _watch(page, base: str) -> tuple[list[str], list[str]]:
    outside: list[str] = []
    failed: list[str] = []

    def route(route_obj):
        url = route_obj.request.url
        if url.startswith(base) or url.startswith(("data:", "blob:")):
            route_obj.continue_()
        else:
            outside.append(url)
            route_obj.abort()  # as an air-gapped network would

    page.route("**/*", route)
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return outside, failed


def test_no_page_reaches_outside_the_hub_or_hits_a_missing_file(admin_page, live_server):
    page = admin_page
    outside, failed = _watch(page, live_server.url)
    for path in PAGES:
        page.goto(f"{live_server.url}{path}", wait_until="networkidle")
        if path.startswith("/admin/"):
            button = page.locator("#user-tools #hub-settings-button")
            assert button.inner_text().lower() == "settings", path  # the admin upper-cases user tools
    assert outside == []
    assert failed == []


def test_swagger_ui_renders_offline(admin_page, live_server):
    page = admin_page
    outside, _ = _watch(page, live_server.url)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title")
    assert "tasktop_hub API" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 10  # the operations were read from /api/schema/
    assert outside == []


def test_the_settings_button_leads_to_the_settings_screen(admin_page, live_server):
    page = admin_page
    page.goto(f"{live_server.url}/admin/integrations/repositoryconnection/")
    page.click("#hub-settings-button")
    page.wait_for_url(f"{live_server.url}/admin/settings/")
