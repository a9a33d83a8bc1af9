"""Every page works without the internet: no request leaves the hub (air-gapped hubs are common),
none of the hub's own requests fails (no favicon 404), Swagger UI renders from the hub's own assets,
and every admin page has the seed's Settings button at the upper right."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Pages the crawl starts from; it follows every same-origin link they hold (the admin home's app
# list: each model's list and add page; the Settings screen's panels; the Activity tabs).
START = ["/admin/", "/admin/settings/", "/admin/activity/"]
ALSO = ["/api/v1/", "/api/docs/"]
NEVER = ("/admin/logout/",)


def _inside(url: str, base: str) -> bool:
    return url.startswith((base + "/", "data:", "blob:")) or url == base


def _watch(page, base: str, *, abort: bool = True) -> tuple[list[str], list[str]]:
    """Record every request that leaves the hub and every failure: an HTTP error from the hub, a
    console error, an uncaught script error. With ``abort`` the outside requests are also refused,
    as an air-gapped network would (routing turns the browser's cache off, so a long crawl only
    records them)."""
    outside: list[str] = []
    failed: list[str] = []

    def route(route_obj):
        outside.append(route_obj.request.url)
        route_obj.abort()

    if abort:
        page.route(lambda url: not _inside(url, base), route)
    else:
        page.on("request", lambda r: None if _inside(r.url, base) else outside.append(r.url))
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: failed.append(f"console {m.type}: {m.text} ({page.url})") if m.type == "error" else None)
    page.on("pageerror", lambda e: failed.append(f"script error: {e} ({page.url})"))
    return outside, failed


def _seed() -> None:
    """One of each object, so every list shows a row."""
    from extensions import services as ext_services
    from notifications import services as activity
    from notifications.models import BackgroundJob
    from tests.factories import PairFactory

    pair = PairFactory()
    activity.record_error(artifact=f"conn:{pair.left_id}", message="Field 'status' has no value 'Doing'",
                          integration_id=pair.integration_id, integration_name=pair.integration.name)
    activity.raise_issue("conn-down:1", "Connection 'tracker' is unreachable", "Connection refused")
    BackgroundJob.objects.create(kind="support_report", title="Support and usage report", status="succeeded",
                                 progress_done=8, progress_total=8, log="Wrote the report.\n")
    ext_services.install_examples(None)


def _links(page, base: str, selector: str) -> list[str]:
    hrefs = page.eval_on_selector_all(selector, "els => els.map(e => e.href)")
    return [h[len(base):] for h in hrefs if h.startswith(base + "/") and not h.startswith(base + "/static/")]


def _visit(page, base: str, path: str) -> int:
    """Open a page; a link that downloads a file (an export, a report) is fetched instead."""
    try:
        response = page.goto(base + path, wait_until="load")
    except Exception as exc:
        if "Download is starting" not in str(exc):
            raise
        return page.request.get(base + path).status
    return response.status if response else 0


def test_every_page_stays_inside_the_hub_and_loads_cleanly(page, live_server, staff):
    """Every admin page reachable from the home, the Settings screen and Activity, the login page,
    the browsable API and Swagger UI: no request leaves the hub, no page answers an error (4xx/5xx,
    a missing asset), no console or script error; every admin page has the seed's Settings button
    at the upper right."""
    _seed()
    base = live_server.url
    outside, failed = _watch(page, base, abort=False)

    assert _visit(page, base, "/admin/login/") == 200
    page.fill("#id_username", staff.username)
    page.fill("#id_password", "correct horse battery staple")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/")

    seen: set[str] = set()
    todo = list(START)
    lists: list[str] = []
    while todo:
        path = todo.pop(0)
        # An app's own index repeats the home's list; the logout link is a form.
        if path in seen or path.startswith(NEVER) or "#" in path or (
                path not in START and re.fullmatch(r"/admin/\w+/", path)):
            continue
        seen.add(path)
        status = _visit(page, base, path)
        assert status < 400, f"{status} {path}"
        if page.url.startswith(base + "/admin/") and page.url != base + "/admin/login/":
            button = page.locator("#user-tools #hub-settings-button")
            assert button.inner_text().lower() == "settings", path  # the admin upper-cases user tools
        if path in START:
            todo += _links(page, base, "#content a[href]")
        if path.endswith("/") and path.count("/") == 4 and page.locator("#result_list").count():
            lists.append(path)
    for path in ALSO:
        page.goto(base + path, wait_until="networkidle")
    # The crawl reached the model lists and the Settings screen's pages, not only the start pages.
    assert len(lists) >= 10, lists
    assert {"/admin/settings/email/", "/admin/settings/logging/", "/admin/settings/move-routes/"} <= seen
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


@pytest.mark.fresh_install
def test_the_setup_page_stays_inside_the_hub(page, live_server, staff):
    """A fresh hub: the login page and the setup page every admin page leads to."""
    base = live_server.url
    outside, failed = _watch(page, base)
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", staff.username)
    page.fill("#id_password", "correct horse battery staple")
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/admin/setup/")
    assert page.locator("form").count() >= 1
    assert outside == []
    assert failed == []

