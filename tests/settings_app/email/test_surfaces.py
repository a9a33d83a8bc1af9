"""Email notifications through the API, the command and the Settings screen."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from notifications.models import AuditEvent
from settings_app.email import services
from tests.settings_app.email.smtp_servers import PASSWORD, USER

pytestmark = pytest.mark.django_db
BASE = "/api/v1/notifications/email/"


def body(port, **extra):
    return {"to_address": "ops@example.com", "from_address": "hub@example.com", "server_url": "http://hub.local:8000",
            "host": "127.0.0.1", "port": port, "protocol": "SMTP", "timeout": 5, **extra}


def test_api_round_trip_password_write_only_and_viewers_cannot_write(staff_client, user_client, smtp_server):
    server = smtp_server("plain", auth=True)
    assert staff_client.get(BASE).status_code == 404
    response = staff_client.put(BASE, body(server.port, username=USER, password=PASSWORD), format="json")
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["password_set"] is True and "password" not in data and PASSWORD not in response.content.decode()
    assert data["enabled"] is False
    assert user_client.post(BASE + "on/").status_code == 403
    assert staff_client.post(BASE + "on/").json()["enabled"] is True

    bad = staff_client.patch(BASE, {"to_address": "not an address"}, format="json")
    assert bad.status_code == 400 and "to_address" in bad.content.decode()

    tested = staff_client.post(BASE + "test/", {"values": {"port": server.port}, "password": "nope"}, format="json")
    assert tested.status_code == 200
    assert tested.json()["ok"] is False and tested.json()["steps"][-1]["step"] == "authenticate"
    ok = staff_client.post(BASE + "test/", {"send_test_email": True}, format="json").json()
    assert ok["ok"] is True and len(server.inbox.messages) == 1

    assert staff_client.delete(BASE).status_code == 204
    assert services.get() is None


def test_command_set_with_password_from_stdin_test_on_show_delete(smtp_server, monkeypatch):
    server = smtp_server("plain", auth=True)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    out = io.StringIO()
    call_command("notifications", "set", "--to", "ops@example.com", "--from", "hub@example.com", "--server-url",
                 "https://hub.example.com", "--host", "127.0.0.1", "--port", str(server.port), "--protocol", "SMTP",
                 "--username", USER, "--password-stdin", stdout=out)
    assert "password:             set" in out.getvalue() and PASSWORD not in out.getvalue()
    out = io.StringIO()
    call_command("notifications", "test", stdout=out)
    assert "ok  authenticate: Authenticated as 'mailer'." in out.getvalue()
    with pytest.raises(CommandError, match="did not answer|refused"):
        call_command("notifications", "test", "--port", "1", "--timeout", "2", stdout=io.StringIO())
    call_command("notifications", "on", stdout=io.StringIO())
    out = io.StringIO()
    call_command("notifications", "show", stdout=out)
    assert "notifications:        on" in out.getvalue() and "last sent:            never" in out.getvalue()
    with pytest.raises(CommandError, match="frequency_minutes"):
        call_command("notifications", "set", "--frequency", "1", stdout=io.StringIO())
    call_command("notifications", "delete", stdout=io.StringIO())
    assert [a for a in AuditEvent.objects.values_list("action", flat=True).order_by("pk")] == [
        "email.create", "email.on", "email.delete"]


def test_settings_screen_panel_shows_real_state_and_actions(admin_client, smtp_server):
    page = admin_client.get("/admin/settings/").content.decode()
    assert "+ Add Email Server" in page and "email notifications are not installed" not in page
    form = admin_client.get("/admin/settings/email/")
    assert form.status_code == 200
    server = smtp_server("plain")
    fields = {k: v for k, v in body(server.port).items()} | {"subject_prefix": "[Tasktop]", "frequency_minutes": 15}
    tested = admin_client.post("/admin/settings/email/", {**fields, "_test": "1"}).content.decode()
    assert "Test passed" in tested and services.get() is None  # tested without saving
    admin_client.post("/admin/settings/email/", fields)
    admin_client.post("/admin/settings/email/on/")
    page = admin_client.get("/admin/settings/").content.decode()
    assert "Configure Notification Settings" in page and "Turn Off Notifications" in page
    assert "<td>On</td>" in page and "every 15 minutes" in page
    assert admin_client.get("/admin/settings/email/off/").status_code == 405  # state changes only by POST


def test_a_ca_bundle_that_is_not_ascii_is_a_400_not_a_server_error(staff_client):
    # Found by the API fuzzer (tests/tasktop_hub/test_api_fuzz.py): ssl refused the text with a TypeError.
    response = staff_client.put(BASE, body(2525, ca_bundle="-----BEGIN CERTIFICATE-----\né\n"), format="json")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "ca_bundle"
    assert staff_client.post(BASE + "send-now/").status_code == 400  # nothing set up: a 400, not a broken body


def test_the_form_says_a_password_is_stored_without_showing_it(admin_client, smtp_server):
    server = smtp_server("plain")
    fields = body(server.port) | {"subject_prefix": "[Tasktop]", "frequency_minutes": 15}
    admin_client.post("/admin/settings/email/", fields)
    assert "(a password is stored)" not in admin_client.get("/admin/settings/email/").content.decode()
    admin_client.post("/admin/settings/email/", fields | {"username": USER, "password": PASSWORD})
    page = admin_client.get("/admin/settings/email/").content.decode()
    assert "(a password is stored)" in page and PASSWORD not in page
