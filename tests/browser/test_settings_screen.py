"""The Settings and Activity screens in a real browser (Debian's chromium via Playwright)."""

import pytest

from notifications import services as activity
from settings_app.services import get_settings
from tasktop_hub.panels import SECTIONS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_settings_screen_shows_each_section_and_changes_polling(admin_page, live_server, tmp_path):
    page = admin_page
    page.click("text=Settings")
    page.wait_for_url(f"{live_server.url}/admin/settings/")
    polling = page.locator("#panel-polling")
    assert "1 minute" in polling.inner_text()
    assert "24 hours" in polling.inner_text()
    # Sections whose feature is not built say so instead of offering dead controls.
    assert page.locator("section.hub-panel").count() == len(SECTIONS)
    page.screenshot(path=str(tmp_path / "settings.png"), full_page=True)

    polling.get_by_role("link", name="Change", exact=True).click()
    page.fill("#id_change_detection_interval", "0")
    page.click("input[name=_save]")
    assert "between 10 and 86400 seconds" in page.locator(".errorlist").first.inner_text()
    assert get_settings().change_detection_interval == 60

    page.fill("#id_change_detection_interval", "120")
    page.click("input[name=_save]")
    page.wait_for_url(f"{live_server.url}/admin/settings/")
    assert "2 minutes" in page.locator("#panel-polling").inner_text()
    assert get_settings().change_detection_interval == 120


def test_activity_screen_lists_errors_and_issues(admin_page, live_server):
    activity.record_error(artifact="tracker:42", message="Person 'ghost' has no match", integration_id=1,
                          integration_name="Bugs")
    activity.raise_issue("conn-down:1", "Connection 'tracker' is unreachable")
    page = admin_page
    page.goto(f"{live_server.url}/admin/activity/")
    assert "Person 'ghost' has no match" in page.locator("#activity-errors").inner_text()
    page.click("text=Issues (1 open)")
    assert "unreachable" in page.locator("#activity-issues").inner_text()
