"""The admin home offers one way to each thing (the issue "The admin as a product")."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_home_lists_each_thing_once(staff):
    client = Client()
    client.force_login(staff)
    home = client.get("/admin/").content.decode()
    # The global settings are reached through the Settings screen, not a second model list.
    assert "/admin/settings_app/hubsettings/" not in home
    assert "/admin/settings/" in home
    # django-q2's queue pages are not a second "Background tasks" beside Activity's background jobs.
    assert "Background tasks" not in home
    assert "Task queue (django-q2)" in home
    # Errors, issues and background jobs are on the Activity screen, not listed a second time;
    # their pages still open from there. The audit trail, which Activity does not show, stays.
    assert "/admin/activity/" in home
    for model in ("activityerror", "activityissue", "backgroundjob"):
        assert f"/admin/notifications/{model}/" not in home
        assert client.get(f"/admin/notifications/{model}/").status_code == 200
    assert "/admin/notifications/auditevent/" in home
    assert "Gateway deliveries" in home and "deliverys" not in home
    # The settings page itself still opens (from the Settings screen's "Change" link).
    assert client.get("/admin/settings_app/hubsettings/1/change/").status_code == 200
