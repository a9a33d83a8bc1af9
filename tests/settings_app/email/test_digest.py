"""Email settings and the digest against a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from notifications import services as activity
from notifications.models import ActivityIssue, AuditEvent
from settings_app.email import digest, services
from settings_app.email.models import EmailSettings
from settings_app.security.fields import is_secret_set
from tests.settings_app.email.smtp_servers import PASSWORD, USER

pytestmark = pytest.mark.django_db


def values(port, **extra):
    return {"to_address": "ops@example.com", "from_address": "hub@example.com", "server_url": "https://hub.example.com/",
            "host": "127.0.0.1", "port": port, "protocol": "SMTP", "timeout": 5, **extra}


@pytest.fixture
def plain(smtp_server):
    return smtp_server("plain", auth=True)


def turn_on(port, **extra):
    services.save(None, values(port, **extra))
    services.set_enabled(None, True)


def test_save_on_off_delete_are_audited_and_password_is_encrypted(plain):
    obj = services.save(None, values(plain.port, username=USER), password=PASSWORD)
    assert is_secret_set(obj, "password")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT password FROM settings_app_emailsettings")
        [(raw,)] = cursor.fetchall()
    assert PASSWORD not in raw and raw.startswith("hv1.")
    services.set_enabled(None, True)
    services.set_enabled(None, False)
    services.delete(None)
    actions = list(AuditEvent.objects.order_by("at", "pk").values_list("action", flat=True))
    assert actions == ["email.create", "email.on", "email.off", "email.delete"]
    assert all(PASSWORD not in str(e.details) for e in AuditEvent.objects.all())
    assert services.get() is None


@pytest.mark.parametrize("field,value,message", [
    ("to_address", "a@example.com, b@example.com", "valid email"),
    ("server_url", "hub.example.com/path", "valid URL"),
    ("server_url", "ftp://hub.example.com/", "valid URL"),
    ("frequency_minutes", 2, "greater than or equal to 5"),
    ("frequency_minutes", 2000, "less than or equal to 1440"),
    ("protocol", "SMTPX", "not a valid choice"),
    ("ca_bundle", "not a certificate", "CA bundle"),
])
def test_bad_values_are_refused_precisely(field, value, message):
    with pytest.raises(ValidationError) as raised:
        services.save(None, values(2525, **{field: value}))
    assert field in raised.value.message_dict and message in " ".join(raised.value.message_dict[field])
    assert services.get() is None


def test_test_connection_uses_unsaved_values_and_the_saved_password(plain):
    services.save(None, values(1, username=USER), password=PASSWORD)  # saved port is wrong
    result = services.test_connection({"port": plain.port})
    assert result.ok, result.as_dict()
    assert [s.name for s in result.steps] == ["connect", "authenticate"] and plain.inbox.messages == []
    assert services.get().port == 1  # nothing saved
    refused = services.test_connection({"port": plain.port}, password="not-it")
    assert refused.failure.startswith("Authentication refused")
    sent = services.test_connection({"port": plain.port}, send_test_email=True)
    assert sent.ok and plain.inbox.messages[0]["Subject"] == "[Tasktop] Test email"


def test_digest_counts_new_errors_and_issues_then_stays_quiet(plain):
    turn_on(plain.port, username=USER)
    services.save(None, {}, password=PASSWORD)
    for n in range(3):
        activity.record_error(artifact=f"redmine:{n}", message=f"failed {n}\nTraceback (most recent call last): x",
                              integration_id=1, integration_name="Bugs")
    ignored = activity.record_error(artifact="redmine:9", message="ignored one", integration_id=1)
    activity.ignore_error(ignored.pk)
    activity.raise_issue("connection-unreachable:1", "Redmine unreachable", "connection refused")

    assert digest.run() == "sent"
    [mail] = plain.inbox.messages
    assert mail["Subject"] == "[Tasktop] 3 new error(s), 1 new issue(s)"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "Bugs | redmine:2 | failed 2" in text and "Traceback" not in text and "ignored one" not in text
    assert "https://hub.example.com/admin/activity/?tab=errors" in text
    assert "https://hub.example.com/admin/activity/?tab=issues" in html and "Redmine unreachable" in html
    obj = services.get()
    assert obj.last_success_at and obj.last_attempt_at and obj.covered_until

    assert digest.run(force=True) == "nothing new"
    activity.record_error(artifact="redmine:1", message="failed again", integration_id=1)  # a repeat is not new
    assert digest.run(force=True) == "nothing new"
    assert len(plain.inbox.messages) == 1


def test_failed_send_raises_one_issue_and_next_success_covers_everything(plain):
    turn_on(plain.port, username=USER)
    services.save(None, {}, password="wrong-password")
    activity.record_error(artifact="redmine:1", message="boom", integration_id=1)
    assert digest.run(force=True).startswith("failed: Authentication refused")
    activity.record_error(artifact="redmine:2", message="boom", integration_id=1)
    assert digest.run(force=True).startswith("failed")
    [issue] = ActivityIssue.objects.filter(key=services.ISSUE_KEY)
    assert issue.status == "open" and "Authentication refused" in issue.message
    assert "wrong-password" not in issue.message
    assert plain.inbox.messages == []

    services.save(None, {}, password=PASSWORD)
    assert digest.run(force=True) == "sent"
    assert plain.inbox.messages[0]["Subject"].startswith("[Tasktop] 2 new error(s)")
    issue.refresh_from_db()
    assert issue.status == "resolved"


def test_digest_waits_for_its_frequency(plain):
    turn_on(plain.port, frequency_minutes=60)
    activity.record_error(artifact="redmine:1", message="boom", integration_id=1)
    assert digest.run() == "sent"
    activity.record_error(artifact="redmine:2", message="boom", integration_id=1)
    assert digest.run() == "not due"
    EmailSettings.objects.update(last_attempt_at=timezone.now() - timedelta(minutes=61))
    assert digest.run() == "sent"


def test_failure_issue_does_not_stop_processing(plain):
    from tasktop_hub.conditions import processing_blocked_reason

    turn_on(1)
    activity.record_error(artifact="redmine:1", message="boom", integration_id=1)
    assert digest.run(force=True).startswith("failed")
    assert processing_blocked_reason() is None
    assert services.failure_reason().startswith("The email notification could not be sent")


def test_master_password_reset_wipes_and_lists_the_mail_password():
    from settings_app.security import master_password

    services.save(None, values(2525, username=USER), password=PASSWORD)
    wiped = master_password.reset_password(None, "a-new-Master-password-42")
    assert any(w.model == "settings_app.emailsettings" and w.field == "password" for w in wiped)
    assert not is_secret_set(services.get(), "password")
    issue = ActivityIssue.objects.get(key=master_password.ISSUE_WIPED, status="open")
    assert "email notification settings 'email to ops@example.com' — password" in issue.message


def test_the_log_filter_masks_the_mail_password_once_it_is_used(plain):
    from integrations.connectors.http.redaction import RedactingFilter

    password = "smtp-Only-Here-7f2a91"
    services.save(None, values(plain.port, username=USER), password=password)
    services.test_connection()  # the password is decrypted for use
    record = logging.LogRecord("settings_app.email", logging.DEBUG, __file__, 1, "AUTH with %s", (password,), None)
    RedactingFilter().filter(record)
    assert password not in record.getMessage() and "***" in record.getMessage()
