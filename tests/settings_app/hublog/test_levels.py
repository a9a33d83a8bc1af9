"""Logging levels: Normal / Troubleshooting (bounded, audited, self-reverting) through every surface."""

from __future__ import annotations

import io
import logging
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from notifications.models import AuditEvent
from settings_app.hublog import levels, services
from settings_app.hublog.models import LoggingLevel

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _normal_after():
    yield
    levels.apply(None)


def test_troubleshoot_sets_hub_loggers_to_debug_and_normal_reverts():
    assert not logging.getLogger("integrations.http").isEnabledFor(logging.DEBUG)
    state = services.troubleshoot(None, duration=timedelta(hours=2))
    assert state.level == "troubleshooting"
    assert logging.getLogger("integrations.http").isEnabledFor(logging.DEBUG)
    assert logging.getLogger("settings_app.email.digest").isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("django.request").isEnabledFor(logging.DEBUG)  # only the hub's own
    services.normal(None)
    assert not logging.getLogger("integrations.engine").isEnabledFor(logging.DEBUG)
    assert list(AuditEvent.objects.values_list("action", flat=True).order_by("pk")) == [
        "logging.troubleshoot", "logging.normal"]


@pytest.mark.parametrize("kwargs,message", [
    ({"duration": timedelta(hours=25)}, "at most 24 hours"),
    ({"duration": timedelta(minutes=-5)}, "in the future"),
    ({}, "either an end time or a duration"),
])
def test_bounds(kwargs, message):
    with pytest.raises(Exception, match=message):
        services.troubleshoot(None, **kwargs)
    assert services.state().level == "normal"


def test_parse_duration():
    assert services.parse_duration("1h30m") == timedelta(minutes=90)
    assert services.parse_duration("45m") == timedelta(minutes=45)
    with pytest.raises(Exception, match="not a duration"):
        services.parse_duration("2 days")


def test_expiry_filter_drops_debug_the_instant_troubleshooting_ends():
    record = logging.LogRecord("integrations.engine", logging.DEBUG, __file__, 1, "detail", None, None)
    other = logging.LogRecord("django.request", logging.DEBUG, __file__, 1, "detail", None, None)
    info = logging.LogRecord("integrations.engine", logging.INFO, __file__, 1, "detail", None, None)
    expiry = levels.TroubleshootingExpiry("INFO")
    levels.apply(timezone.now() + timedelta(seconds=1))
    assert expiry.filter(record)
    time.sleep(1.1)  # the end passes; no refresh happens in between
    assert not expiry.filter(record) and expiry.filter(info) and expiry.filter(other)


def test_an_end_time_in_the_past_reads_as_normal():
    LoggingLevel.objects.create(pk=1, troubleshoot_until=timezone.now() - timedelta(minutes=1))
    levels.refresh(force=True)
    assert services.state().level == "normal"
    assert not logging.getLogger("integrations").isEnabledFor(logging.DEBUG)


def test_command_show_troubleshoot_normal():
    out = io.StringIO()
    call_command("logging", "troubleshoot", "--for", "2h", stdout=out)
    assert "Troubleshooting until" in out.getvalue()
    with pytest.raises(CommandError, match="at most 24 hours"):
        call_command("logging", "troubleshoot", "--for", "25h", stdout=io.StringIO())
    with pytest.raises(CommandError, match="not an ISO"):
        call_command("logging", "troubleshoot", "--until", "tomorrow", stdout=io.StringIO())
    out = io.StringIO()
    call_command("logging", "normal", stdout=out)
    assert out.getvalue().strip() == "Logging level: Normal"


def test_api_and_roles(staff_client, user_client):
    url = "/api/v1/settings/logging/"
    assert staff_client.get(url).json() == {"level": "normal", "until": None}
    assert user_client.put(url, {"level": "troubleshooting", "duration_minutes": 60}, format="json").status_code == 403
    r = staff_client.put(url, {"level": "troubleshooting", "duration_minutes": 60}, format="json")
    assert r.status_code == 200 and r.json()["level"] == "troubleshooting" and r.json()["until"]
    assert staff_client.put(url, {"level": "troubleshooting", "duration_minutes": 2000},
                            format="json").status_code == 400
    assert staff_client.put(url, {"level": "normal"}, format="json").json()["level"] == "normal"


def test_settings_panel_shows_level_and_end_and_stop_button(admin_client):
    page = admin_client.get("/admin/settings/").content.decode()
    assert "logging levels are not installed" not in page
    assert "<td>Normal</td>" in page and "Stop Troubleshooting Now" not in page
    r = admin_client.post("/admin/settings/logging/", {"duration": "4"})
    assert r.status_code == 302
    page = admin_client.get("/admin/settings/").content.decode()
    until = services.state().until
    assert "<td>Troubleshooting</td>" in page and f"{until:%Y-%m-%d %H:%M} UTC" in page
    assert "Stop Troubleshooting Now" in page
    admin_client.post("/admin/settings/logging/stop/")
    assert services.state().level == "normal"
